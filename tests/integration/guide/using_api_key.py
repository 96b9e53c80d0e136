import requests
headers = {
"X-API-Key": "your-api-key",
"Content-Type": "application/json"
}
response = requests.get(
"https://edge-device/api/v1/telemetry/",
headers=headers
)
