"""Alerts: rules judge readings (engine), alerts live in their own store with a lifecycle
(new, acknowledged, resolved), machine health is derived from them, and every change can be
notified (runtime.notify)."""
