# Tests of the TorchScript model wrapper (core) and of pair_style mlspin (LAMMPS).
# Their models are written by models/make_test_models.py, run by ctest as the fixture
# `mlspin_models` with a Python interpreter that has torch (Debian: python3-torch).
# A build without LibTorch has only the test that pair_style mlspin says so.

if(NOT MLSPIN_HAVE_TORCH)
  mlspin_lammps_test(pair_mlspin_notorch SOURCES lammps/test_pair_mlspin_notorch.cpp RANKS 1 2)
  target_link_libraries(test_pair_mlspin_notorch PRIVATE mlspin_torch)
  return()
endif()

set(MLSPIN_TEST_PYTHON "" CACHE FILEPATH "Python with torch that writes the pair_style mlspin test models (empty: search)")
if(NOT MLSPIN_TEST_PYTHON)
  find_program(_mlspin_path_python NAMES python3)
  foreach(_py /usr/bin/python3 ${_mlspin_path_python})
    if(EXISTS "${_py}")
      execute_process(COMMAND ${_py} -c "import torch" RESULT_VARIABLE _rc OUTPUT_QUIET ERROR_QUIET)
      if(_rc EQUAL 0)
        set(MLSPIN_TEST_PYTHON "${_py}" CACHE FILEPATH "Python with torch that writes the pair_style mlspin test models (empty: search)" FORCE)
        break()
      endif()
    endif()
  endforeach()
endif()
if(NOT MLSPIN_TEST_PYTHON)
  message(WARNING "mlspin: no Python with torch found (set MLSPIN_TEST_PYTHON); the pair_style mlspin tests are not built")
  return()
endif()
message(STATUS "mlspin: test models written with ${MLSPIN_TEST_PYTHON}")

set(MLSPIN_TEST_MODELS ${CMAKE_CURRENT_BINARY_DIR}/models)
add_test(NAME mlspin_test_models
         COMMAND ${MLSPIN_TEST_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/models/make_test_models.py
                 ${MLSPIN_TEST_MODELS} ${PROJECT_SOURCE_DIR}/doc)
set_tests_properties(mlspin_test_models PROPERTIES FIXTURES_SETUP mlspin_models)

add_executable(test_core_torch core/test_torch_model.cpp)
target_link_libraries(test_core_torch PRIVATE mlspin_torch GTest::gtest GTest::gtest_main)
target_compile_definitions(test_core_torch PRIVATE MLSPIN_TEST_MODELS="${MLSPIN_TEST_MODELS}")
add_test(NAME core_torch COMMAND test_core_torch)
set_tests_properties(core_torch PROPERTIES FIXTURES_REQUIRED mlspin_models)

# mlspin_pair_test(<name> <source> <ranks...>)
function(mlspin_pair_test name source)
  mlspin_lammps_test(${name} SOURCES ${source} RANKS ${ARGN})
  target_compile_definitions(test_${name} PRIVATE
    MLSPIN_TEST_MODELS="${MLSPIN_TEST_MODELS}"
    MLSPIN_LAMMPS_POTENTIALS="${LAMMPS_SOURCE_DIR}/potentials")
  foreach(np ${ARGN})
    set(_test ${name})
    if(NOT np EQUAL 1)
      set(_test ${name}_np${np})
    endif()
    # a timeout, so that a rank waiting forever in MPI cannot stall the whole suite
    set_tests_properties(${_test} PROPERTIES FIXTURES_REQUIRED mlspin_models TIMEOUT 300)
  endforeach()
endfunction()

mlspin_pair_test(pair_mlspin lammps/test_pair_mlspin.cpp 1 2)
mlspin_pair_test(pair_mlspin_manybody lammps/test_pair_mlspin_manybody.cpp 1 2)
mlspin_pair_test(pair_mlspin_dynamics lammps/test_pair_mlspin_dynamics.cpp 1 2)
mlspin_pair_test(pair_mlspin_files lammps/test_pair_mlspin_files.cpp 1 2)
mlspin_pair_test(pair_mlspin_spin_exchange lammps/test_pair_mlspin_spin_exchange.cpp 1 2)
mlspin_pair_test(pair_mlspin_canonical lammps/test_pair_mlspin_canonical.cpp 1 2)

# The native path of the lattice descriptor models against their TorchScript forward()
add_executable(test_native_lattice core/test_native_lattice.cpp)
target_link_libraries(test_native_lattice PRIVATE mlspin_torch GTest::gtest GTest::gtest_main)
target_compile_definitions(test_native_lattice PRIVATE MLSPIN_TEST_MODELS="${MLSPIN_TEST_MODELS}"
                           MLSPIN_POTENTIALS="${PROJECT_SOURCE_DIR}/potentials")
add_test(NAME native_lattice COMMAND test_native_lattice)
set_tests_properties(native_lattice PROPERTIES FIXTURES_REQUIRED mlspin_models)
mlspin_pair_test(pair_mlspin_native lammps/test_pair_mlspin_native.cpp 1 2)
target_compile_definitions(test_pair_mlspin_native PRIVATE MLSPIN_POTENTIALS="${PROJECT_SOURCE_DIR}/potentials")
