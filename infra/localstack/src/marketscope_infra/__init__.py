"""MarketScope provisioning."""
