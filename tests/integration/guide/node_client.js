const axios = require('axios');
class EsoCoreClient {
constructor(baseUrl, apiKey) {
this.baseUrl = baseUrl;
this.headers = {
'X-API-Key': apiKey,
'Content-Type': 'application/json'
};
}
async getCurrentReadings() {
const response = await axios.get(
`${this.baseUrl}/telemetry/`,
{ headers: this.headers }
);
return response.data;
}
async getActiveAlerts() {
const response = await axios.get(
`${this.baseUrl}/alerts/`,
{
headers: this.headers,
params: { status: 'active' }
}
);
return response.data;
}
}
// Usage
const client = new EsoCoreClient(
'https://192.168.1.100/api/v1',
'your-api-key'
);
client.getCurrentReadings()
.then(readings => console.log(readings))
.catch(error => console.error(error));
