"""MarketScope market-data service."""
