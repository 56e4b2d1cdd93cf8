#!/usr/bin/env bash
# Obtain and build the LAMMPS that mlspin embeds, caching both outside the work tree.
#
#   obtain-lammps.sh source SUITE      fetch Debian SUITE's LAMMPS source package
#                                      (e.g. trixie, unstable); prints the source tree
#   obtain-lammps.sh build  SRC_TREE   build LAMMPS from SRC_TREE with the options
#                                      below; prints the build folder
#
# The source is the orig tarball of Debian's source package: apt, under a private
# configuration (its own sources list, state and cache folders, so the system's apt
# setup is untouched), reads the signed Sources index and downloads the tarball alone,
# checked against the index's SHA256. The archive address is read from this machine's
# own Debian apt sources. One line on stderr says which source was used.
#
# Environment:
#   MLSPIN_CACHE_DIR      cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/mlspin)
#   MLSPIN_DEBIAN_MIRROR  archive URI to use instead of the one in the apt sources
#   MLSPIN_JOBS           parallel build jobs (default: number of cores)
set -euo pipefail

CACHE="${MLSPIN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mlspin}"
log() { echo "obtain-lammps: $*" >&2; }
die() { log "error: $*"; exit 1; }

# LAMMPS build options; their hash names the cached build, so changing one rebuilds.
LAMMPS_OPTIONS=(
  -DPKG_PLUGIN=on -DPKG_SPIN=on -DPKG_MANYBODY=on
  -DBUILD_MPI=on -DBUILD_OMP=off -DBUILD_SHARED_LIBS=on -DLAMMPS_SIZES=smallbig
  -DWITH_JPEG=off -DWITH_PNG=off -DWITH_FFMPEG=off -DWITH_GZIP=on
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_STANDARD=17
  # RPATH (not RUNPATH) so that no other liblammps.so.0 (e.g. Debian's) can shadow ours
  -DCMAKE_SKIP_BUILD_RPATH=off "-DCMAKE_EXE_LINKER_FLAGS=-Wl,--disable-new-dtags"
  "-DCMAKE_SHARED_LINKER_FLAGS=-Wl,--disable-new-dtags"
)

# First URI of a Debian main archive in the machine's apt sources (deb822 or one-line).
debian_archive_uri() {
  if [[ -n "${MLSPIN_DEBIAN_MIRROR:-}" ]]; then echo "$MLSPIN_DEBIAN_MIRROR"; return; fi
  local uris=()
  shopt -s nullglob
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    # keep only stanzas signed by the Debian archive keyring
    while read -r u; do uris+=("$u"); done < <(awk '
      BEGIN { RS=""; FS="\n" }
      /debian-archive-keyring/ { for (i = 1; i <= NF; i++) if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); n = split($i, a, /[ \t]+/); for (k = 1; k <= n; k++) print a[k] } }' "$f")
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] || continue
    while read -r u; do uris+=("$u"); done < <(awk '$1 == "deb" || $1 == "deb-src" {
      for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' "$f")
  done
  local u
  for u in "${uris[@]}"; do
    case "$u" in *security*|*updates*|*backports*) continue ;; esac
    case "$u" in */debian|*/debian/) echo "${u%/}"; return ;; esac
  done
  die "no Debian archive found in /etc/apt/sources*; set MLSPIN_DEBIAN_MIRROR to a Debian archive URI"
}

# Runs a command quietly: its output is shown only when it fails.
quietly() {
  local out
  if out="$("$@" 2>&1)"; then return 0; fi
  printf '%s\n' "$out" >&2
  return 1
}

fetch_source() {
  local suite="$1"
  local apt_dir="$CACHE/apt-$suite"
  mkdir -p "$apt_dir"/{lists/partial,cache/archives/partial,parts} "$CACHE/src"
  local uri; uri="$(debian_archive_uri)"
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $suite main" \
    > "$apt_dir/sources.list"
  local opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o "Dir::Etc::sourceparts=$apt_dir/parts"
              -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
              -o "APT::Sandbox::User=root")
  log "reading the $suite source index from $uri"
  # apt-get update can succeed with warnings only (e.g. an unverifiable index); keep
  # them to explain a missing package below
  local update_log
  update_log="$(apt-get "${opts[@]}" -qq update 2>&1)" \
    || { printf '%s\n' "$update_log" >&2; die "apt-get update for $suite failed (is $uri reachable?)"; }
  local record version orig sha dir
  record="$(apt-cache "${opts[@]}" showsrc lammps 2>/dev/null)" || true
  version="$(awk '/^Version:/ { print $2; exit }' <<<"$record")"
  [[ -n "$version" ]] || { printf '%s\n' "$update_log" >&2; die "the $suite index has no lammps source package"; }
  # the orig tarball, its SHA256 and its pool folder from the (signed) index
  read -r sha orig < <(awk '/^Checksums-Sha256:/ { on = 1; next } /^[^ ]/ { on = 0 }
      on && $3 ~ /\.orig\.tar\./ { print $1, $3; exit }' <<<"$record")
  dir="$(awk '/^Directory:/ { print $2; exit }' <<<"$record")"
  [[ -n "$orig" && -n "$dir" ]] || die "no orig tarball or pool folder listed for lammps $version"
  local tree="$CACHE/src/lammps-$version"
  if [[ -f "$tree/.complete" ]]; then log "using cached source $tree"; echo "$tree"; return; fi
  local dl="$CACHE/src/download-$version"
  mkdir -p "$dl"
  # Only the orig tarball is needed (the Debian patches are not applied), so fetch it
  # alone with apt's own downloader, which checks the SHA256 of the index; `apt-get
  # source` would also fetch the .dsc, which some mirrors do not carry.
  if ! echo "$sha  $dl/$orig" | sha256sum -c --status 2>/dev/null; then
    quietly /usr/lib/apt/apt-helper "${opts[@]}" download-file "$uri/$dir/$orig" "$dl/$orig" "SHA256:$sha" \
      || die "could not download $uri/$dir/$orig"
  fi
  echo "$sha  $dl/$orig" | sha256sum -c --status \
    || die "$dl/$orig does not match the SHA256 of the $suite index"
  rm -rf "$tree.tmp" && mkdir -p "$tree.tmp"
  tar -xf "$dl/$orig" -C "$tree.tmp"
  # some tarballs hold one top-level folder (lammps-4Feb2025/), others the tree itself
  local top=("$tree.tmp"/*)
  if [[ ${#top[@]} -eq 1 && -d "${top[0]}" && ! -d "$tree.tmp/src" ]]; then
    mv "${top[0]}" "$tree.unpacked" && rm -rf "$tree.tmp" && mv "$tree.unpacked" "$tree.tmp"
  fi
  [[ -f "$tree.tmp/src/version.h" ]] || die "$orig has no src/version.h"
  rm -rf "$tree" && mv "$tree.tmp" "$tree" && touch "$tree/.complete"
  rm -rf "$dl"
  log "LAMMPS $version source from Debian $suite's orig tarball $orig (SHA256 checked against the signed index)"
  echo "$tree"
}

build_lammps() {
  local src; src="$(cd "$1" && pwd)"
  [[ -f "$src/src/version.h" && -f "$src/cmake/CMakeLists.txt" ]] || die "$src is not a LAMMPS source tree"
  local version key
  version="$(sed -n 's/^#define LAMMPS_VERSION "\(.*\)"/\1/p' "$src/src/version.h" | tr -d ' ')"
  key="$(printf '%s\n' "$src" "${LAMMPS_OPTIONS[@]}" "$(g++ -dumpfullversion 2>/dev/null)" | sha256sum | cut -c1-12)"
  local build="$CACHE/build/lammps-$version-$key"
  if [[ -f "$build/.complete" && -x "$build/lmp" ]]; then log "using cached build $build"; echo "$build"; return; fi
  local jobs="${MLSPIN_JOBS:-$(nproc)}"
  log "building LAMMPS $version in $build ($jobs jobs; about 6 minutes on 2 cores)"
  mkdir -p "$build"
  local gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
  cmake -S "$src/cmake" -B "$build" "${gen[@]}" "${LAMMPS_OPTIONS[@]}" > "$build/configure.log" 2>&1 \
    || { tail -n 30 "$build/configure.log" >&2; die "LAMMPS configure failed (log: $build/configure.log)"; }
  cmake --build "$build" --parallel "$jobs" > "$build/build.log" 2>&1 \
    || { tail -n 30 "$build/build.log" >&2; die "LAMMPS build failed (log: $build/build.log)"; }
  touch "$build/.complete"
  echo "$build"
}

case "${1:-}" in
  source) [[ $# -eq 2 ]] || die "usage: $0 source SUITE"; fetch_source "$2" ;;
  build)  [[ $# -eq 2 ]] || die "usage: $0 build SRC_TREE"; build_lammps "$2" ;;
  *) die "usage: $0 source SUITE | build SRC_TREE" ;;
esac
