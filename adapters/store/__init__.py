"""raydesk adapters/store."""
