"""Shared pieces of the MarketScope services."""
