"""The analyst's tools: typed calls of market-data and rag, made as the user, and the
toolbox that runs the calls of one model round."""

from marketscope_chat.tools.base import Citation, Tool, ToolContext, ToolFailed, ToolOutput
from marketscope_chat.tools.clients import RetryPolicy, ServiceCaller
from marketscope_chat.tools.toolbox import Toolbox, ToolResult, build_toolbox

__all__ = [
    "Citation",
    "RetryPolicy",
    "ServiceCaller",
    "Tool",
    "ToolContext",
    "ToolFailed",
    "ToolOutput",
    "ToolResult",
    "Toolbox",
    "build_toolbox",
]
