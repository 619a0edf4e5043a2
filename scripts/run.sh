#!/usr/bin/env bash
# The project's one entry point on a fresh Debian machine.
#   scripts/run.sh demo   install what is missing, build, deploy the bundled
#                         regulation into ./reglament.db and run the demo
#   scripts/run.sh test   install what is missing, build, run the whole suite
# BUILD_DIR (default build) and BUILD_TYPE (default RelWithDebInfo) may be set.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-demo}
build_dir=${BUILD_DIR:-build}
build_type=${BUILD_TYPE:-RelWithDebInfo}

# Everything the build and the tests need, from Debian's packages (tzdata: the
# time zones a calendar names, read from /usr/share/zoneinfo).
packages=(g++ cmake ninja-build pkg-config libyaml-cpp-dev libsqlitecpp-dev libsqlite3-dev libfmt-dev
          libcli11-dev doctest-dev sqlite3 tzdata)

install_missing() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build() {
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" >/dev/null
  cmake --build "$build_dir" -j "$(nproc)"
}

install_missing
build
case "$mode" in
  demo)
    "$build_dir/cli/reglament" --db reglament.db deploy processes
    "$build_dir/cli/reglament" --db reglament.db demo
    ;;
  test)
    ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)"
    ;;
  *)
    echo "usage: scripts/run.sh demo|test" >&2
    exit 2
    ;;
esac
