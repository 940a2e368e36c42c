"""MarketScope chat service."""
