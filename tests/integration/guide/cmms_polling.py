# CMMS-side script (runs every 5 minutes)
import requests
ESOCORE_API = "https://edge-device/api/v1"
ESOCORE_KEY = "api-key"
CMMS_API = "https://cmms/api/work-orders"
CMMS_KEY = "cmms-api-key"
# Get new alerts from EsoCore
alerts = requests.get(
    f"{ESOCORE_API}/alerts/",
    headers={"X-API-Key": ESOCORE_KEY},
    params={"status": "new", "acknowledged": False}
).json()
# Create work orders in CMMS
for alert in alerts:
    work_order = {
        "equipment_id": alert["device_id"],
        "title": f"Predictive Alert: {alert['alert_type']}",
        "description": alert["message"],
        "priority": map_priority(alert["severity"]),
        "due_date": calculate_due_date(alert["severity"])
    }
    # Create work order
    response = requests.post(
        CMMS_API,
        headers={"Authorization": f"Bearer {CMMS_KEY}"},
        json=work_order
    )
    if response.ok:
        # Acknowledge alert in EsoCore
        requests.post(
            f"{ESOCORE_API}/alerts/{alert['id']}/ack",
            headers={"X-API-Key": ESOCORE_KEY},
            json={"work_order_id": response.json()["id"]}
        )
