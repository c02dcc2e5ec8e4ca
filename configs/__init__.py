"""raydesk configs."""
