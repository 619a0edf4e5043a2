# Two MiB of one JSON string: refused at 1 MiB, not read to the end.
# error: printed more than 1 MiB on stdout
printf '{"stolen": "'
head -c 2097152 /dev/zero | tr '\0' 'a'
printf '"}'
