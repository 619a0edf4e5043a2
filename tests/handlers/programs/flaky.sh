#!/bin/sh
# Fails the first $FAIL_TIMES runs, counted in the file $COUNTER, then
# succeeds and sets `runs`.
cat >/dev/null
n=0
[ -f "$COUNTER" ] && n=$(cat "$COUNTER")
n=$((n + 1))
echo "$n" > "$COUNTER"
if [ "$n" -le "$FAIL_TIMES" ]; then
  echo "run $n fails on purpose" >&2
  exit 75
fi
printf '{"runs": %d}\n' "$n"
