# error: printed an array on stdout, not a JSON object
echo '[1, 2, 3]'
