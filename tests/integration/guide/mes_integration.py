# MES Integration Script
import requests
from datetime import datetime
class MESIntegration:
    def __init__(self, esocore_url, esocore_key, mes_url, mes_key):
        self.esocore_url = esocore_url
        self.esocore_headers = {"X-API-Key": esocore_key}
        self.mes_url = mes_url
        self.mes_headers = {"Authorization": f"Bearer {mes_key}"}
    def update_equipment_status(self):
        """Update MES with equipment health status"""
        # Get equipment health from EsoCore
        devices = requests.get(
            f"{self.esocore_url}/devices/",
            headers=self.esocore_headers
        ).json()
        for device in devices:
            # Get current health status
            health = self.get_device_health(device['id'])
            # Update MES equipment status
            requests.put(
                f"{self.mes_url}/equipment/{device['equipment_id']}/status",
                headers=self.mes_headers,
                json={
                    "health_score": health['score'],
                    "status": health['status'],
                    "alerts": health['active_alerts'],
                    "last_updated": datetime.now().isoformat()
                }
            )
    def check_production_readiness(self, equipment_id):
        """Check if equipment is ready for production"""
        device = self.get_device_by_equipment_id(equipment_id)
        # Get active alerts
        alerts = requests.get(
            f"{self.esocore_url}/alerts/",
            headers=self.esocore_headers,
            params={"device_id": device['id'], "status": "active"}
        ).json()
        # Check for critical alerts
        critical_alerts = [a for a in alerts if a['severity'] == 'critical']
        return {
            "ready": len(critical_alerts) == 0,
            "alerts": critical_alerts,
            "recommendation": "Schedule maintenance" if critical_alerts else "OK"
        }
