#!/usr/bin/env bash
# The benchmark table of docs/performance.md, in one command:
#
#   scripts/bench.sh [reglament_bench options]     e.g. --only 1,2  --size w3_tasks=100000
#
# Builds Release in build-bench, installs the peer (bpmn-engine and
# better-sqlite3, from npm, into build-bench/peers: ignored by git, never
# committed), runs the peer on the same 3.1 process, then reglament_bench,
# and prints one table: every figure next to its target and the peer's, with
# the machine, the build type and the commit. Medians of 3 runs.
#
#   PEER=0              skip the peer (no Node.js needed)
#   PEER_INSTANCES=N    instances per peer run (default 200)
#   BENCH_BUILD_DIR=D   build directory (default build-bench)
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${BENCH_BUILD_DIR:-build-bench}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" --target reglament_bench reglament >&2

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  commit="$commit+changes"
fi

peer_args=()
if [ "${PEER:-1}" != 0 ]; then
  if command -v node >/dev/null && command -v npm >/dev/null; then
    peers_dir="$build_dir/peers"
    mkdir -p "$peers_dir"
    if ! cmp -s bench/peers/package.json "$peers_dir/package.json" || [ ! -d "$peers_dir/node_modules" ]; then
      cp bench/peers/package.json "$peers_dir/package.json"
      echo "bench.sh: installing the peer from npm into $peers_dir" >&2
      # better-sqlite3 builds its bundled SQLite from source here (node-gyp
      # with the local Node headers); no prebuilt binary is downloaded.
      (cd "$peers_dir" && npm install --no-audit --no-fund --loglevel=error >&2)
    fi
    echo "bench.sh: running the peer (bpmn-engine)" >&2
    if NODE_PATH="$PWD/$peers_dir/node_modules" node bench/peers/driver.js \
        --instances "${PEER_INSTANCES:-200}" --repeat 3 > "$build_dir/peer.json"; then
      peer_args=(--peer "$build_dir/peer.json")
    else
      echo "bench.sh: the peer failed; the table will show no peer figures" >&2
    fi
  else
    echo "bench.sh: node/npm not found; the table will show no peer figures" >&2
  fi
fi

"$build_dir/bench/reglament_bench" --commit "$commit" "${peer_args[@]}" "$@"
