"""MarketScope notifier service."""
