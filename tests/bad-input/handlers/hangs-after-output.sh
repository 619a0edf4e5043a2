# Prints a good answer but keeps running: the answer is not taken.
# timeout: 1s
# error: did not finish within 1s
echo '{"stolen": "yes"}'
sleep 60
