"""The ``raydesk`` CLI, Ray start-up, job entrypoints and the actor supervisor."""
