"""Notifications of alert changes: webhooks and email, delivered durably from an outbox.

`Notifier` is the one entry point; `NotificationsConfig` is the `[notifications]` section.
"""

# The device config includes this package's config section, and importing config.base runs
# runtime/config/__init__ (which imports the device config): import that first, so importing
# runtime.notify.config on its own finds runtime.config complete (as runtime.alerts does).
from .. import config as _device_config  # noqa: F401
from .config import (
    EVENTS,
    EmailConfig,
    NotificationsConfig,
    Recipient,
    WebhookAuth,
    WebhookConfig,
)
from .notifier import Notifier, UnknownTarget
from .templates import PLACEHOLDERS, TemplateError

__all__ = [
    "EVENTS",
    "PLACEHOLDERS",
    "EmailConfig",
    "NotificationsConfig",
    "Notifier",
    "Recipient",
    "TemplateError",
    "UnknownTarget",
    "WebhookAuth",
    "WebhookConfig",
]
