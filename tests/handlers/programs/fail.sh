#!/bin/sh
# Fails with status 3 and a two-line message on stderr.
cat >/dev/null
echo >&2
echo "   database is locked   " >&2
echo "second line" >&2
echo '{"ignored": true}'
exit 3
