# error: nesting is deeper than
printf '{"stolen": '
head -c 100000 /dev/zero | tr '\0' '['
head -c 100000 /dev/zero | tr '\0' ']'
printf '}'
