#!/usr/bin/env bash
# Reproduction: `complete` exits 2 ("time cannot go back") although its
# completion was committed, when a tick (or a worker) with a later clock runs
# the service step that the completion reached before the command itself does.
#
#   tests/reliability/repro/complete-after-tick.sh [path/to/reglament]
#
# The completion commits TaskCompleted and ServiceScheduled; the command then
# runs the handler outside any transaction (Runtime::run_jobs). Meanwhile a
# tick at a later moment finds the job pending, runs it and records it. The
# command's RecordServiceResult then conflicts, is decided again on the fresh
# state, and is refused as `invalid` because its time is before the tick's
# event — not as the conflict "already run" that run_jobs would skip. run_jobs
# takes the refusal for the handler's failure, tries to record that (refused
# the same way) and returns the error: the person is told the command failed
# (exit 2), yet their completion is in the log. Under concurrency the same
# happens with two commands a clock second apart (reglament_reliability
# concurrency: "task N.M is completed by … but no completion was acknowledged").
#
# Exit 0 when `complete` succeeds, 1 otherwise.
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../../build/cli/reglament}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/bundle"
cat >"$dir/bundle/org.yaml" <<YAML
roles:
  clerk: {title: Clerk}
people:
  - {login: anna, name: Anna, roles: [clerk]}
access:
  identity: asserted
YAML
# Step 2's handler is slow the first time it runs (in the person's `complete`)
# and quick the second time (in the tick).
cat >"$dir/bundle/slow.yaml" <<YAML
process: slow
title: A person's step, then a slow service step
owner: clerk
steps:
  - id: "1"
    title: Do it
    actor: clerk
    next: "2"
  - id: "2"
    title: Slow service step
    actor: clerk
    do: exec
    with:
      run: [/bin/sh, -c, "mkdir $dir/first 2>/dev/null && sleep 3; exit 0"]
    next: "3"
  - id: "3"
    title: Then this
    actor: clerk
    next: end
YAML
rg() { "$bin" --db "$dir/r.db" --as anna "$@"; }
deploy() { rg deploy "$dir/bundle" --now 2026-11-23T10:00:00+03:00 >/dev/null 2>&1; }
# (A build from before org.yaml's `access:` section: deploy without it.)
deploy || { sed -i '/^access:/,$d' "$dir/bundle/org.yaml"; deploy; } || exit 1
rg start slow --now 2026-11-23T10:00:00+03:00 >/dev/null || exit 1
# The person completes 1.1 at 10:00; after its commit, step 2's handler takes 3 s.
rg complete 1.1 --now 2026-11-23T10:00:00+03:00 >"$dir/complete.out" 2>&1 &
sleep 1
# Meanwhile a tick at 10:01 finds job 1.2 pending and runs it first.
rg tick --now 2026-11-23T10:01:00+03:00
wait $!
code=$?
echo "complete 1.1 exited $code: $(cat "$dir/complete.out")"
rg history 1 | cut -c1-100
if [ "$code" != 0 ]; then
  echo "BUG: complete reported a failure, yet its completion (seq 4) is in the history"
  exit 1
fi
echo ok
