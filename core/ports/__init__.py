"""raydesk core/ports."""
