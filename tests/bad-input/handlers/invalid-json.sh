# error: printed invalid JSON on stdout
echo '{not json'
