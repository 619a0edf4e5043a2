#!/bin/sh
# Starts a grandchild that sleeps, writes its pid to the file named by the
# first argument, and waits forever.
sleep 1000 &
echo $! > "$1"
wait
