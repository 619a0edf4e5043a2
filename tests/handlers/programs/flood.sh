#!/bin/sh
# Prints far more than 1 MiB on stdout, without end.
exec yes 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
