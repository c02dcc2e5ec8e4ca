"""raydesk adapters/market."""
