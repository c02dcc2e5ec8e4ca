"""Modal screens: confirmations for actions."""
