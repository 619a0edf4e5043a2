# error: unexpected text after the value
echo '{"stolen": "yes"} and more'
