"""Facts about NeMo RL releases, read from checkouts without importing them: the names-only manifest,
what changed between releases, and the shared-word-runs check against NeMo RL's docs."""
