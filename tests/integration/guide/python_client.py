import requests
from datetime import datetime, timedelta
class EsoCoreClient:
    def __init__(self, base_url, api_key):
        self.base_url = base_url
        self.headers = {
            "X-API-Key": api_key,
            "Content-Type": "application/json"
        }
    def get_current_readings(self):
        """Get latest sensor readings"""
        response = requests.get(
            f"{self.base_url}/telemetry/",
            headers=self.headers
        )
        return response.json()
    def get_sensor_history(self, sensor_id, hours=24):
        """Get sensor history"""
        end_time = datetime.now()
        start_time = end_time - timedelta(hours=hours)
        response = requests.get(
            f"{self.base_url}/telemetry/history/",
            headers=self.headers,
            params={
                "sensor_id": sensor_id,
                "start_time": start_time.isoformat(),
                "end_time": end_time.isoformat()
            }
        )
        return response.json()
    def get_active_alerts(self):
        """Get all active alerts"""
        response = requests.get(
            f"{self.base_url}/alerts/",
            headers=self.headers,
            params={"status": "active"}
        )
        return response.json()
# Usage
client = EsoCoreClient(
    base_url="https://192.168.1.100/api/v1",
    api_key="your-api-key"
)
# Get current readings
readings = client.get_current_readings()
for reading in readings:
    print(f"{reading['sensor_name']}: {reading['value']} {reading['unit']}")
# Check for alerts
alerts = client.get_active_alerts()
if alerts:
    print(f"WARNING: {len(alerts)} active alerts!")
