# Locate LibTorch (CPU is enough) and the JSON reader for pair_style mlspin.
#
# MLSPIN_WITH_TORCH (cache): AUTO (default) uses LibTorch when it is found and usable,
# ON requires it, OFF builds without it. Without LibTorch, every other style is built
# and pair_style mlspin stays registered but stops with an error saying how to fix it.
#
# LibTorch is looked for, in this order: Torch_DIR / CMAKE_PREFIX_PATH given by the
# user; the Debian/Ubuntu package libtorch-dev (lib/<multiarch>/cmake/Torch or
# share/cmake/Torch); the cmake folder of a pip-installed torch of the Python found first.
# The model metadata (mlspin.json) is read with nlohmann/json (Debian: nlohmann-json3-dev).
# Output: MLSPIN_HAVE_TORCH; when true, the imported targets `torch` and
# nlohmann_json::nlohmann_json, and MLSPIN_TORCH_VERSION.

set(MLSPIN_WITH_TORCH "AUTO" CACHE STRING "Build pair_style mlspin with LibTorch: AUTO (when found), ON or OFF")
set_property(CACHE MLSPIN_WITH_TORCH PROPERTY STRINGS AUTO ON OFF)
string(TOUPPER "${MLSPIN_WITH_TORCH}" _mlspin_with_torch)
if(NOT _mlspin_with_torch MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "MLSPIN_WITH_TORCH is '${MLSPIN_WITH_TORCH}'; use AUTO, ON or OFF")
endif()

set(MLSPIN_HAVE_TORCH OFF)
if(_mlspin_with_torch STREQUAL "OFF")
  message(STATUS "mlspin: built without LibTorch (MLSPIN_WITH_TORCH=OFF): pair_style mlspin will stop with an error")
  return()
endif()

# Without a usable LibTorch: an error when it was asked for (ON), else a build without it.
# (A macro, so that its return() leaves this file. Its arguments are joined as one
# message, so they must not hold semicolons.)
macro(mlspin_torch_unusable)
  string(CONCAT _mlspin_reason ${ARGV})
  if(_mlspin_with_torch STREQUAL "ON")
    message(FATAL_ERROR "mlspin: ${_mlspin_reason}")
  endif()
  message(WARNING "mlspin: ${_mlspin_reason}\n"
                  "Building without LibTorch: pair_style mlspin will stop with an error. "
                  "Configure with -DMLSPIN_WITH_TORCH=OFF to build without it silently.")
  return()
endmacro()

set(_mlspin_torch_hints)
if(CMAKE_LIBRARY_ARCHITECTURE)
  list(APPEND _mlspin_torch_hints /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/cmake/Torch)
endif()
list(APPEND _mlspin_torch_hints /usr/share/cmake/Torch /usr/lib/cmake/Torch /usr/local/share/cmake/Torch)

if(NOT TARGET torch)
  find_package(Torch QUIET CONFIG HINTS ${_mlspin_torch_hints})
endif()

if(NOT TARGET torch)
  # a pip wheel: python -c "import torch; print(torch.utils.cmake_prefix_path)"
  find_program(MLSPIN_PYTHON_FOR_TORCH NAMES python3 python)
  if(MLSPIN_PYTHON_FOR_TORCH)
    execute_process(COMMAND ${MLSPIN_PYTHON_FOR_TORCH} -c "import torch.utils; print(torch.utils.cmake_prefix_path)"
                    OUTPUT_VARIABLE _mlspin_torch_prefix OUTPUT_STRIP_TRAILING_WHITESPACE
                    RESULT_VARIABLE _mlspin_torch_rc ERROR_QUIET)
    if(_mlspin_torch_rc EQUAL 0 AND _mlspin_torch_prefix)
      find_package(Torch QUIET CONFIG PATHS "${_mlspin_torch_prefix}/Torch" NO_DEFAULT_PATH)
    endif()
  endif()
endif()

if(NOT TARGET torch)
  mlspin_torch_unusable(
    "LibTorch was not found: pair_style mlspin needs it.\n"
    "  Debian/Ubuntu: apt-get install libtorch-dev (CPU, C++11 ABI)\n"
    "  or download LibTorch (cxx11 ABI) from pytorch.org and configure with\n"
    "  -DTorch_DIR=<libtorch>/share/cmake/Torch")
endif()

# LibTorch's ABI flag must agree with the rest of the plugin (LAMMPS uses the default,
# new ABI of libstdc++); the pre-cxx11 LibTorch downloads cannot be mixed with it.
if(TORCH_CXX_FLAGS MATCHES "_GLIBCXX_USE_CXX11_ABI=0")
  mlspin_torch_unusable(
    "the LibTorch in ${Torch_DIR} was built with the old C++ ABI (_GLIBCXX_USE_CXX11_ABI=0): "
    "use the cxx11-ABI LibTorch build or Debian's libtorch-dev")
endif()

find_package(nlohmann_json 3.2 QUIET CONFIG)
if(NOT TARGET nlohmann_json::nlohmann_json)
  mlspin_torch_unusable(
    "nlohmann/json (3.2 or newer) was not found: pair_style mlspin reads the model metadata with it.\n"
    "  Debian/Ubuntu: apt-get install nlohmann-json3-dev\n"
    "  or configure with -Dnlohmann_json_DIR=<folder holding nlohmann_jsonConfig.cmake>")
endif()

set(MLSPIN_HAVE_TORCH ON)
set(MLSPIN_TORCH_VERSION "${Torch_VERSION}")
if(NOT MLSPIN_TORCH_VERSION)
  set(MLSPIN_TORCH_VERSION "unknown")
endif()
message(STATUS "mlspin: LibTorch ${MLSPIN_TORCH_VERSION} from ${Torch_DIR}; nlohmann/json ${nlohmann_json_VERSION}")
