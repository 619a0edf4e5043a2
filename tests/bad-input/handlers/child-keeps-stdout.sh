# The program ends, a child it left behind holds stdout open: killed with the group.
# timeout: 1s
# error: did not finish within 1s
(sleep 60; echo '{"stolen": "late"}') &
echo '{"stolen": "yes"}'
