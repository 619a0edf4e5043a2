#!/bin/sh
# Prints {"input": STDIN}: the whole JSON it was given comes back as the
# output variable `input`.
input=$(cat)
printf '{"input": %s}\n' "$input"
