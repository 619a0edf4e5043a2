# Five MB on stderr: the incident keeps the first line, cut short.
# error: exited with status 1: eeee
head -c 5000000 /dev/zero | tr '\0' 'e' >&2
exit 1
