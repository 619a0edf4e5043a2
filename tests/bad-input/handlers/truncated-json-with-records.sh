# A half-written answer that would have added a client: nothing of it may be applied.
# error: printed invalid JSON on stdout
printf '{"records": [{"op": "client.add", "company": "ООО Взлом"}], "stolen": "yes"'
