"""Alerts: rules judge readings (engine), alerts live in their own store with a lifecycle
(new, acknowledged, resolved), machine health is derived from them, and every change can be
notified (runtime.notify)."""

# The device config includes this package's config section (rules.AlertsConfig), and
# importing config.base runs runtime/config/__init__ (which imports the device config): import
# that first, so importing runtime.alerts.rules on its own finds runtime.config complete.
from .. import config as _device_config  # noqa: F401
