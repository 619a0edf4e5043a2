# error: unknown client database record op "client.drop"
echo '{"records": [{"op": "client.add", "company": "ООО Взлом"}, {"op": "client.drop", "company": "x"}]}'
