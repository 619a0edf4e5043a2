#!/usr/bin/env bash
# The reliability figures of docs/reliability.md, in one command:
#
#   scripts/reliability.sh [--kills N] [--seconds S] [--seed S]
#
# Builds reglament and reglament_reliability in build/ (BUILD_DIR to change
# it), then runs the long forms of the two tests of tests/reliability/:
#   crash        N commands (default 2000) SIGKILLed mid-flight, each followed
#                by integrity_check, verify and the killed instance's history;
#                then every instance is finished and every history checked;
#   concurrency  4 users (ivanova, petrov) racing on the same tasks and
#                2 workers firing waits and deadlines, for S seconds (default 120).
# Prints each test's figures, the machine and the commit. ctest runs the short
# forms (reliability_crash: 200 kills, reliability_concurrency: 15 s).
set -euo pipefail
cd "$(dirname "$0")/.."

kills=2000
seconds=120
seed_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --kills) kills=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --seed) seed_args=(--seed "$2"); shift 2 ;;
    *) echo "reliability.sh: unknown option \"$1\"; use --kills N, --seconds S, --seed S" >&2; exit 2 ;;
  esac
done

build_dir=${BUILD_DIR:-build}
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  cmake -S . -B "$build_dir" -G Ninja >/dev/null
fi
cmake --build "$build_dir" --target reglament reglament_reliability >&2

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  commit="$commit+changes"
fi
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build_dir/CMakeCache.txt")
echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(uname -sr)"
echo "build: ${build_type:-default} ($build_dir), commit $commit, $(date -u +%Y-%m-%dT%H:%MZ)"
echo

harness="$build_dir/tests/reliability/reglament_reliability"
bin="$build_dir/cli/reglament"
status=0
"$harness" crash --bin "$bin" --source-dir . --kills "$kills" "${seed_args[@]}" || status=1
echo
"$harness" concurrency --bin "$bin" --source-dir . --seconds "$seconds" --users 4 --workers 2 \
  "${seed_args[@]}" || status=1
exit $status
