"""Market data providers behind one interface, and the ordered fallback chain over them."""

from marketscope_market_data.providers.base import MarketDataProvider
from marketscope_market_data.providers.chain import DateSpan, ProviderChain

__all__ = ["DateSpan", "MarketDataProvider", "ProviderChain"]
