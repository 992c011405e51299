"""Outgoing webhooks: merchants and operators subscribe URLs to events; deliveries are signed and retried."""
