#!/bin/sh
# Starts a child that leaves this program's process group and session
# (setsid) and sleeps; writes the child's pid to the file $1 once it has left,
# then exits at once, printing nothing.
cat >/dev/null
setsid sh -c 'echo $$ > "$1.tmp" && mv "$1.tmp" "$1"; exec sleep 300' escape-child "$1" </dev/null >/dev/null 2>&1 &
while [ ! -s "$1" ]; do sleep 0.01; done
