"""The pure domain of raydesk: no Ray, broker SDK, Redis or Textual imports live here."""
