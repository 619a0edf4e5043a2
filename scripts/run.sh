#!/usr/bin/env bash
# The project's one entry point on a fresh Debian machine.
#   scripts/run.sh demo            install what is missing, build, deploy the bundled
#                                  regulation into ./reglament.db and run the demo
#   scripts/run.sh test            install what is missing, then the three stages below:
#                                  unit, sanitize, fuzz (each target FUZZ_SECONDS, 20, with
#                                  a fixed seed); what CI runs (.ci/run). `all` is the same.
#   scripts/run.sh unit            build (build/) and run the whole suite (ctest)
#   scripts/run.sh sanitize        the suite under AddressSanitizer, LeakSanitizer and
#                                  UndefinedBehaviorSanitizer (g++, build-asan/)
#   scripts/run.sh fuzz [SECONDS]  the libFuzzer targets of tests/fuzz/ (clang,
#                                  build-fuzz/), each for SECONDS (default 30), random seed
# BUILD_DIR (default build) and BUILD_TYPE (default RelWithDebInfo) may be set for
# the plain build, JOBS (default: the number of cores) for every build and ctest,
# FUZZ_SEED for libFuzzer's seed (it does not make a run repeat exactly: a failed
# target's last input is kept in build-fuzz/artifacts/<target>-last-input).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-demo}
build_dir=${BUILD_DIR:-build}
build_type=${BUILD_TYPE:-RelWithDebInfo}
asan_dir=build-asan
fuzz_dir=build-fuzz
jobs=${JOBS:-$(nproc)}
fuzz_seconds=${FUZZ_SECONDS:-30}
fuzz_seed=${FUZZ_SEED:-}

case "$mode" in
  demo|unit|sanitize) ;;
  # CI's form: short, with a fixed seed (runs still diverge; see docs/reliability.md).
  test|all) fuzz_seconds=${FUZZ_SECONDS:-20} fuzz_seed=${FUZZ_SEED:-1} ;;
  fuzz) fuzz_seconds=${2:-$fuzz_seconds} ;;
  *)
    echo "usage: scripts/run.sh demo|test|unit|sanitize|fuzz [SECONDS]|all" >&2
    exit 2
    ;;
esac

# Everything the build and the tests need, from Debian's packages (tzdata: the
# time zones a calendar names, read from /usr/share/zoneinfo).
packages=(g++ cmake ninja-build pkg-config libyaml-cpp-dev libsqlitecpp-dev libsqlite3-dev libfmt-dev
          libcli11-dev doctest-dev sqlite3 tzdata ccache)
# The fuzz targets: clang 14 and its libFuzzer runtime (libclang_rt.fuzzer).
case "$mode" in test|all|fuzz) packages+=(clang libclang-rt-14-dev) ;; esac

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

# What each stage took and how it ended, printed again at the end.
summary=()
stage_start=0
begin() {
  echo "==> $1"
  stage_start=$SECONDS
}
record() {
  summary+=("$(printf '%-9s %4ds  %s' "$1" $((SECONDS - stage_start)) "$2")")
}
print_summary() {
  [ ${#summary[@]} -eq 0 ] || [ "$mode" = demo ] && return 0
  echo "==> summary"
  printf '%s\n' "${summary[@]}"
}
trap print_summary EXIT

build() {
  begin "build ($build_dir)"
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" >/dev/null
  cmake --build "$build_dir" -j "$jobs"
  record build "$build_dir"
}

# Runs ctest in DIR (with the environment given after it) and records its
# summary line ("100% tests passed, 0 tests failed out of N").
run_ctest() {
  local dir=$1 name=$2
  shift 2
  begin "ctest ($dir)"
  local log="$dir/ctest.log" status=0
  env "$@" ctest --test-dir "$dir" --output-on-failure -j "$jobs" 2>&1 | tee "$log" || status=$?
  local line
  line=$(grep -E "tests passed|tests failed" "$log" | tail -1 || true)
  record "$name" "${line:-ctest printed no summary}"
  echo "$name: ${line:-ctest printed no summary}"
  return "$status"
}

unit() {
  build
  run_ctest "$build_dir" unit
}

# The whole suite built with g++ -fsanitize=address,undefined: any report
# fails the test that triggered it. LeakSanitizer is on; the leaks of system
# libraries are suppressed in tests/sanitize/lsan.supp (each entry says why).
sanitize() {
  begin "build ($asan_dir: address, leak and undefined behaviour sanitizers)"
  CXX=g++ cmake -S . -B "$asan_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
    -DREGLAMENT_SANITIZE=ON >/dev/null
  cmake --build "$asan_dir" -j "$jobs"
  record build-asan "$asan_dir"
  run_ctest "$asan_dir" sanitize \
    ASAN_OPTIONS="detect_leaks=1" \
    LSAN_OPTIONS="suppressions=$PWD/tests/sanitize/lsan.supp:print_suppressions=0" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
}

# Builds the engine and the libFuzzer targets with clang, collects the seed
# corpora and runs each target for SECONDS over its corpus. A crash, a leak
# or a sanitizer report fails the script; the input that caused it is kept
# under build-fuzz/artifacts/ and its path printed.
fuzz() {
  begin "build ($fuzz_dir: libFuzzer targets)"
  CC=clang CXX=clang++ cmake -S . -B "$fuzz_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" -DREGLAMENT_FUZZ=ON >/dev/null
  cmake --build "$fuzz_dir" -j "$jobs"
  tests/fuzz/collect_seeds.sh "$fuzz_dir/tests/fuzz/make_seeds" "$fuzz_dir/corpus"
  record build-fuzz "$fuzz_dir"

  local failed=() runs_total=0
  mkdir -p "$fuzz_dir/artifacts" "$fuzz_dir/logs"
  for t in $(cat "$fuzz_dir/fuzz_targets.txt" | tr ';' ' '); do
    begin "fuzz $t (${fuzz_seconds}s)"
    local log="$fuzz_dir/logs/$t.log" opts=() status=0
    [ -f "tests/fuzz/${t#fuzz_}.dict" ] && opts+=(-dict="tests/fuzz/${t#fuzz_}.dict")
    [ -n "$fuzz_seed" ] && opts+=(-seed="$fuzz_seed")
    # timeout: libFuzzer's own report of an out-of-memory input can take
    # minutes under ASan; a stage that hangs fails rather than stalls CI.
    # REGLAMENT_FUZZ_LAST_INPUT: fuzz_loader writes each input there before
    # running it (tests/fuzz/expect.h), for when the run is killed.
    REGLAMENT_FUZZ_LAST_INPUT="$fuzz_dir/artifacts/$t-last-input" timeout -k 10 $((fuzz_seconds + 300)) \
      "$fuzz_dir/tests/fuzz/$t" -max_total_time="$fuzz_seconds" -timeout=25 -print_final_stats=1 \
      "${opts[@]}" -artifact_prefix="$fuzz_dir/artifacts/$t-" "$fuzz_dir/corpus/$t" >"$log" 2>&1 || status=$?
    local runs rate
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    runs_total=$((runs_total + ${runs:-0}))
    if [ "$status" -ne 0 ]; then
      failed+=("$t")
      echo "FAILED: $t exited with $status; the end of its log ($log):"
      tail -n 60 "$log"
      grep -E "Test unit written to|crash-|leak-|timeout-|oom-" "$log" | sed 's/^/  input: /' || true
      [ -f "$fuzz_dir/artifacts/$t-last-input" ] &&
        echo "  the last input it started: $fuzz_dir/artifacts/$t-last-input ($(wc -c <"$fuzz_dir/artifacts/$t-last-input") bytes)"
      record "$t" "FAILED ($status): $(grep -o 'Test unit written to .*' "$log" | tail -1)"
    else
      echo "$t: ${runs:-?} runs, ${rate:-?}/s, no crash"
      record "$t" "${runs:-?} runs, ${rate:-?}/s, no crash"
    fi
  done
  if [ ${#failed[@]} -ne 0 ]; then
    echo "fuzz: ${#failed[@]} of the targets failed: ${failed[*]}"
    return 1
  fi
  echo "fuzz: every target ran ${fuzz_seconds}s without a crash ($runs_total runs)"
}

install_missing
case "$mode" in
  demo)
    build
    # As the bundled org's administrator (sidorova, deputy director): after
    # the first deploy, only an administrator deploys (docs/format.md, "access").
    "$build_dir/cli/reglament" --db reglament.db deploy processes --as sidorova
    "$build_dir/cli/reglament" --db reglament.db demo --as sidorova
    ;;
  unit)
    unit
    ;;
  sanitize)
    sanitize
    ;;
  fuzz)
    fuzz
    ;;
  test|all)
    # What CI runs (.ci/run); docs/reliability.md says what each stage takes.
    unit
    sanitize
    fuzz
    ;;
esac
