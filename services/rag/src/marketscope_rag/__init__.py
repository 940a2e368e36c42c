"""MarketScope rag service."""
