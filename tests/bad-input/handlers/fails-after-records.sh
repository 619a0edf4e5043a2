# A good answer, then a failure status: the answer is not applied.
# error: exited with status 3: no message
echo '{"records": [{"op": "client.add", "company": "ООО Взлом"}], "messages": [{"to": "deputy-director", "text": "взлом"}], "stolen": "yes"}'
exit 3
