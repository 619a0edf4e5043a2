# error: printed `messages` that is not an array
echo '{"messages": 5, "stolen": "yes"}'
