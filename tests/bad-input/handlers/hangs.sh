# timeout: 1s
# error: did not finish within 1s
sleep 60
