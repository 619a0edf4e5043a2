#!/bin/sh
# Fails with status 1 and nothing on stderr.
exit 1
