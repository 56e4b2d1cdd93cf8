#!/usr/bin/env bash
# Checks that mlspin compiles against LAMMPS "4 Jul 2026", Debian unstable's source
# package, by building the plugin against that tree (no LAMMPS build, no tests).
# With --full it also builds that LAMMPS (cached) and runs the test suite against it.
# Exit status: 0 compiled (and tests passed), 1 failed, 2 the source was not reachable.
set -uo pipefail
cd "$(dirname "$0")/.."
full=0
[[ "${1:-}" == "--full" ]] && full=1

if ! tree="$(bash cmake/obtain-lammps.sh source unstable)"; then
  echo "check-lammps-2026: the LAMMPS source package of Debian unstable is not reachable" >&2
  echo "check-lammps-2026: nothing was checked (set MLSPIN_DEBIAN_MIRROR to a reachable Debian archive)" >&2
  exit 2
fi
version="$(sed -n 's/^#define LAMMPS_VERSION "\(.*\)"/\1/p' "$tree/src/version.h")"
echo "check-lammps-2026: LAMMPS \"$version\" from $tree"
[[ "$version" == "4 Jul 2026" ]] || echo "check-lammps-2026: note: unstable now ships \"$version\", not \"4 Jul 2026\""

build=build-lammps-unstable
if ((full)); then
  cmake -S . -B "$build" -G Ninja -DLAMMPS_SOURCE_DIR="$tree" -DMLSPIN_PLUGIN_ONLY=OFF || exit 1
  cmake --build "$build" --parallel || exit 1
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ctest --test-dir "$build" --output-on-failure || exit 1
else
  cmake -S . -B "$build" -G Ninja -DLAMMPS_SOURCE_DIR="$tree" -DMLSPIN_PLUGIN_ONLY=ON || exit 1
  cmake --build "$build" --parallel --target mlspinplugin || exit 1
fi
echo "check-lammps-2026: mlspin compiles against LAMMPS \"$version\""
