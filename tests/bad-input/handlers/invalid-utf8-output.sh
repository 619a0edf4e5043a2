# Output that is not UTF-8 must be refused: it would be stored, and `show --json` would print
# invalid JSON.
# status: ok
# error: UTF-8
printf '{"stolen": "\377\376"}'
