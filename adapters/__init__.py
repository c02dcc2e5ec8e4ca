"""raydesk adapters."""
