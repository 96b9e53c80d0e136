"""Notifications of alert changes: webhooks and email, delivered durably from an outbox.

`Notifier` is the one entry point; `NotificationsConfig` is the `[notifications]` section.
"""

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
