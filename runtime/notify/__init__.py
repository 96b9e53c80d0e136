"""Notifications of alert changes: webhooks and email, delivered durably from an outbox."""
