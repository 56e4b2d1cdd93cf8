# Locate LibTorch (CPU is enough) for the TorchScript model wrapper and pair_style mlspin.
#
# Looked for, in this order: Torch_DIR / CMAKE_PREFIX_PATH given by the user; the
# Debian/Ubuntu package libtorch-dev (lib/<multiarch>/cmake/Torch or share/cmake/Torch);
# the cmake folder of a pip-installed torch of the Python interpreter found first.
# Output: the imported target `torch` and MLSPIN_TORCH_VERSION; a configure error with
# instructions when no LibTorch is found or its C++ ABI does not match this compiler.

if(TARGET torch)
  return()
endif()

set(_mlspin_torch_hints)
if(CMAKE_LIBRARY_ARCHITECTURE)
  list(APPEND _mlspin_torch_hints /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/cmake/Torch)
endif()
list(APPEND _mlspin_torch_hints /usr/share/cmake/Torch /usr/lib/cmake/Torch /usr/local/share/cmake/Torch)

find_package(Torch QUIET CONFIG HINTS ${_mlspin_torch_hints})

if(NOT Torch_FOUND)
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

if(NOT Torch_FOUND OR NOT TARGET torch)
  message(FATAL_ERROR
    "mlspin: LibTorch was not found; pair_style mlspin needs it.\n"
    "  Debian/Ubuntu: apt-get install libtorch-dev (CPU, C++11 ABI)\n"
    "  or download LibTorch (cxx11 ABI) from pytorch.org and configure with\n"
    "  -DTorch_DIR=<libtorch>/share/cmake/Torch")
endif()

# LibTorch's ABI flag must agree with the rest of the plugin (LAMMPS uses the default,
# new ABI of libstdc++); the pre-cxx11 LibTorch downloads cannot be mixed with it.
if(TORCH_CXX_FLAGS MATCHES "_GLIBCXX_USE_CXX11_ABI=0")
  message(FATAL_ERROR
    "mlspin: the LibTorch in ${Torch_DIR} was built with the old C++ ABI (_GLIBCXX_USE_CXX11_ABI=0); "
    "use the cxx11-ABI LibTorch build or Debian's libtorch-dev")
endif()

set(MLSPIN_TORCH_VERSION "${Torch_VERSION}")
if(NOT MLSPIN_TORCH_VERSION)
  set(MLSPIN_TORCH_VERSION "unknown")
endif()
message(STATUS "mlspin: LibTorch ${MLSPIN_TORCH_VERSION} from ${Torch_DIR}")
