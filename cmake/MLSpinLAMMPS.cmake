# Locate (or obtain and build) the LAMMPS that the plugin is compiled for.
#
# Inputs (cache variables):
#   LAMMPS_SOURCE_DIR  a LAMMPS source tree (the folder holding src/ and cmake/).
#                      Empty: the embedded default, Debian 13's LAMMPS "4 Feb 2025".
#   LAMMPS_BINARY_DIR  a CMake build folder of that tree with liblammps.so and lmp.
#                      Empty: built by cmake/obtain-lammps.sh and cached outside the tree.
#   MLSPIN_LAMMPS_SUITE  Debian suite of the embedded source package (default trixie).
# Outputs:
#   MLSPIN_LAMMPS_VERSION  YYYYMMDD parsed from src/version.h
#   target mlspin::lammps_headers  (include path + size defines, for the plugin)
#   target mlspin::lammps          (headers + liblammps, for tests), when a build exists
#   LAMMPS_EXECUTABLE              the lmp binary

set(LAMMPS_SOURCE_DIR "" CACHE PATH "LAMMPS source tree to build the plugin for (empty: embedded Debian LAMMPS)")
set(LAMMPS_BINARY_DIR "" CACHE PATH "CMake build folder of LAMMPS_SOURCE_DIR holding liblammps.so (empty: build it)")
set(MLSPIN_LAMMPS_SUITE "trixie" CACHE STRING "Debian suite whose LAMMPS source package is embedded")
option(MLSPIN_PLUGIN_ONLY "Build only the plugin against LAMMPS_SOURCE_DIR (no LAMMPS build, no lmp, no tests)" OFF)
set(MLSPIN_OBTAIN_LAMMPS "${CMAKE_CURRENT_LIST_DIR}/obtain-lammps.sh")

function(mlspin_run_obtain out_var)
  execute_process(COMMAND bash "${MLSPIN_OBTAIN_LAMMPS}" ${ARGN}
                  OUTPUT_VARIABLE result RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "obtain-lammps.sh ${ARGN} failed (see the messages above)")
  endif()
  set(${out_var} "${result}" PARENT_SCOPE)
endfunction()

if(NOT LAMMPS_SOURCE_DIR)
  message(STATUS "mlspin: obtaining the LAMMPS source of Debian ${MLSPIN_LAMMPS_SUITE}")
  mlspin_run_obtain(_src source ${MLSPIN_LAMMPS_SUITE})
  set(LAMMPS_SOURCE_DIR "${_src}" CACHE PATH "LAMMPS source tree to build the plugin for" FORCE)
endif()
get_filename_component(LAMMPS_SOURCE_DIR "${LAMMPS_SOURCE_DIR}" ABSOLUTE)
if(NOT EXISTS "${LAMMPS_SOURCE_DIR}/src/version.h")
  message(FATAL_ERROR "LAMMPS_SOURCE_DIR=${LAMMPS_SOURCE_DIR} is not a LAMMPS source tree (no src/version.h)")
endif()

# "4 Feb 2025" -> 20250204
file(STRINGS "${LAMMPS_SOURCE_DIR}/src/version.h" _vline REGEX "define LAMMPS_VERSION")
string(REGEX MATCH "\"([0-9]+) ([A-Za-z]+) ([0-9]+)\"" _ "${_vline}")
set(_day ${CMAKE_MATCH_1})
set(_mon ${CMAKE_MATCH_2})
set(_year ${CMAKE_MATCH_3})
set(_months Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec)
list(FIND _months "${_mon}" _mi)
if(_mi LESS 0 OR NOT _year)
  message(FATAL_ERROR "cannot parse LAMMPS version from '${_vline}'")
endif()
math(EXPR _mon_num "${_mi} + 1")
math(EXPR MLSPIN_LAMMPS_VERSION "${_year} * 10000 + ${_mon_num} * 100 + ${_day}")
message(STATUS "mlspin: LAMMPS ${_day} ${_mon} ${_year} (${MLSPIN_LAMMPS_VERSION}) at ${LAMMPS_SOURCE_DIR}")
if(MLSPIN_LAMMPS_VERSION LESS 20250204)
  message(FATAL_ERROR "mlspin supports LAMMPS 4 Feb 2025 and newer; found ${MLSPIN_LAMMPS_VERSION}")
endif()

if(NOT LAMMPS_BINARY_DIR AND NOT MLSPIN_PLUGIN_ONLY)
  message(STATUS "mlspin: building LAMMPS (cached after the first build)")
  mlspin_run_obtain(_bin build "${LAMMPS_SOURCE_DIR}")
  set(LAMMPS_BINARY_DIR "${_bin}" CACHE PATH "CMake build folder of LAMMPS" FORCE)
endif()

# Size model and MPI must match the LAMMPS build the plugin is loaded into.
set(_sizes smallbig)
if(EXISTS "${LAMMPS_BINARY_DIR}/CMakeCache.txt")
  file(STRINGS "${LAMMPS_BINARY_DIR}/CMakeCache.txt" _s REGEX "^LAMMPS_SIZES:")
  if(_s)
    string(REGEX REPLACE "^LAMMPS_SIZES:[A-Z]+=" "" _sizes "${_s}")
  endif()
  file(STRINGS "${LAMMPS_BINARY_DIR}/CMakeCache.txt" _m REGEX "^BUILD_MPI:")
  if(_m MATCHES "=(OFF|off|0|no|NO)$")
    message(FATAL_ERROR "the LAMMPS build in ${LAMMPS_BINARY_DIR} has no MPI; mlspin needs an MPI build")
  endif()
endif()
string(TOUPPER "${_sizes}" _sizes)

add_library(mlspin_lammps_headers INTERFACE)
add_library(mlspin::lammps_headers ALIAS mlspin_lammps_headers)
target_include_directories(mlspin_lammps_headers INTERFACE "${LAMMPS_SOURCE_DIR}/src")
target_compile_definitions(mlspin_lammps_headers INTERFACE
  LAMMPS_${_sizes} MLSPIN_LAMMPS_VERSION=${MLSPIN_LAMMPS_VERSION} OMPI_SKIP_MPICXX=1 MPICH_SKIP_MPICXX)
target_link_libraries(mlspin_lammps_headers INTERFACE MPI::MPI_CXX)

if(NOT MLSPIN_PLUGIN_ONLY)
  find_library(LAMMPS_LIBRARY NAMES lammps PATHS "${LAMMPS_BINARY_DIR}" NO_DEFAULT_PATH)
  find_program(LAMMPS_EXECUTABLE NAMES lmp PATHS "${LAMMPS_BINARY_DIR}" NO_DEFAULT_PATH)
  if(NOT LAMMPS_LIBRARY OR NOT LAMMPS_EXECUTABLE)
    message(FATAL_ERROR "no liblammps.so and lmp in LAMMPS_BINARY_DIR=${LAMMPS_BINARY_DIR}; "
                        "LAMMPS must be built with -DBUILD_SHARED_LIBS=on -DPKG_PLUGIN=on")
  endif()
  add_library(mlspin_lammps INTERFACE)
  add_library(mlspin::lammps ALIAS mlspin_lammps)
  target_link_libraries(mlspin_lammps INTERFACE mlspin::lammps_headers "${LAMMPS_LIBRARY}")
endif()

# Registering an atom style from a plugin uses Atom's public creator map; LAMMPS'
# development branch is replacing it by a registry, so probe rather than date-gate.
include(CheckCXXSourceCompiles)
set(CMAKE_REQUIRED_INCLUDES "${LAMMPS_SOURCE_DIR}/src" ${MPI_CXX_INCLUDE_DIRS})
set(CMAKE_REQUIRED_DEFINITIONS -DLAMMPS_${_sizes} -DOMPI_SKIP_MPICXX=1 -DMPICH_SKIP_MPICXX)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)    # compile only
set(CMAKE_REQUIRED_FLAGS "-std=c++17")
check_cxx_source_compiles([=[
#include "atom.h"
int main() { LAMMPS_NS::Atom *a = nullptr; if (a) (*a->avec_map)["x"] = nullptr; return 0; }
]=] MLSPIN_HAVE_AVEC_MAP)
unset(CMAKE_REQUIRED_INCLUDES)
unset(CMAKE_REQUIRED_DEFINITIONS)
unset(CMAKE_REQUIRED_FLAGS)
unset(CMAKE_TRY_COMPILE_TARGET_TYPE)
if(NOT MLSPIN_HAVE_AVEC_MAP)
  message(FATAL_ERROR "this LAMMPS has no Atom::avec_map: mlspin cannot register atom_style spin/lattice")
endif()
