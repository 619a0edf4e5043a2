# error: was killed by signal 9
kill -9 $$
