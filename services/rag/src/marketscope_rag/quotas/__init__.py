"""Per-owner quotas: stored bytes and indexed chunks, counted in the rag table."""
