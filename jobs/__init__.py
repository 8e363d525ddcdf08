"""arq worker settings, the outbox relay and settlement jobs (arrive with the check-in issue)."""
