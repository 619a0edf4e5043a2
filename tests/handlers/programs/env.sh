#!/bin/sh
# Prints the environment variable GREETING as the output `greeting` (plain
# ASCII only: it is not escaped).
cat >/dev/null
printf '{"greeting": "%s"}\n' "$GREETING"
