"""HTTP clients of the services behind the gateway."""

from marketscope_gateway.downstream.base import ServiceClient
from marketscope_gateway.downstream.chat import ChatClient
from marketscope_gateway.downstream.market_data import MarketDataClient
from marketscope_gateway.downstream.notifier import NotifierClient
from marketscope_gateway.downstream.rag import RagClient

__all__ = ["ChatClient", "MarketDataClient", "NotifierClient", "RagClient", "ServiceClient"]
