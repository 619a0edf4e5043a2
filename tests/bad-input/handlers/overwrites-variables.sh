# error: printed `client`, but the step declares no `outputs:`
echo '{"client": "ООО Взлом", "vip": true}'
