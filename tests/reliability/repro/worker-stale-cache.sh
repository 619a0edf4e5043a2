#!/usr/bin/env bash
# Reproduction: a long-running `reglament worker` never fires a wait that
# another process created on an instance the worker had already written to.
#
#   tests/reliability/repro/worker-stale-cache.sh [path/to/reglament]
#
# The worker's Runtime keeps the state of each instance after its own append
# (Runtime::states_). When a `complete` run by a person appends to that
# instance and starts a new wait, the worker's next tick decides FireTimers on
# the cached, stale state, finds nothing due, writes nothing, and keeps the
# stale state: append() is the only place that checks the cache, and a
# decision with no events (or a refusal) never reaches it. The wait stays due,
# so the worker also spins: it sleeps zero seconds and ticks again, thousands
# of times a second. A `tick` by hand (a fresh runtime) fires it at once.
# The same stale state explains the refusals `instance N: no service job "N.M"`
# that workers print under concurrency (reglament_reliability concurrency).
#
# Exit 0 when the worker fired both waits without spinning, 1 otherwise.
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../../build/cli/reglament}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/bundle/forms"
cat >"$dir/bundle/org.yaml" <<'YAML'
roles:
  clerk: {title: Clerk}
people:
  - {login: anna, name: Anna, roles: [clerk]}
access:
  identity: asserted
YAML
# Two waits in a row, each until a moment given as a variable: the second is
# started by the person's `complete`, after the worker has touched the instance.
cat >"$dir/bundle/twowaits.yaml" <<'YAML'
process: twowaits
title: Two waits in a row
owner: clerk
variables:
  first: {type: datetime, required: true, title: First moment}
steps:
  - id: "1"
    title: After the first moment
    actor: clerk
    wait: {until: first}
    form: next
    next: "2"
  - id: "2"
    title: After the second moment
    actor: clerk
    wait: {until: second}
    next: end
YAML
cat >"$dir/bundle/forms/next.yaml" <<'YAML'
form: next
title: Next moment
fields:
  - {name: second, title: Second moment, type: datetime, required: true}
YAML
rg() { "$bin" --db "$dir/r.db" --as anna "$@"; }
soon() { date -d "+$1 sec" --iso-8601=seconds; }
# (A build from before org.yaml's `access:` section: deploy without it.)
rg deploy "$dir/bundle" >/dev/null 2>&1 || { sed -i '/^access:/,$d' "$dir/bundle/org.yaml"; rg deploy "$dir/bundle" >/dev/null; } || exit 1

rg start twowaits --set first="$(soon 2)" >/dev/null || exit 1     # wait 1 ends in 2 s
rg worker --for 10s --max-sleep 1s >"$dir/worker.out" 2>&1 &
sleep 4                                                             # the worker has fired wait 1: task 1.2
rg complete 1.2 --set second="$(soon 2)" >/dev/null || exit 1       # wait 2 ends in 2 s
wait                                                                # the worker runs 6 s more

fired=$(rg history 1 --json | grep -c '"TimerFired"')
ticks=$(sed -n 's/.*stopping after \([0-9]*\) ticks.*/\1/p' "$dir/worker.out")
echo "worker: $(tail -1 "$dir/worker.out"); TimerFired events: $fired (2 expected)"
if [ "$fired" != 2 ] || [ "${ticks:-0}" -gt 100 ]; then
  echo "BUG: the worker did not fire the second wait (and spun: ${ticks:-?} ticks in 10 s); a tick by hand:"
  rg tick
  exit 1
fi
echo ok
