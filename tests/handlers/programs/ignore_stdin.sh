#!/bin/sh
# Never reads stdin, closes it and answers at once.
exec 0<&-
echo '{"answered": true}'
