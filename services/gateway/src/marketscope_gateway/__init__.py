"""MarketScope gateway service."""
