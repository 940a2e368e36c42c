"""Streams as state: fold a stream's events, append at the version seen, retry on conflict."""

from marketscope_events.streams.repository import Decide, Fold, Loaded, StreamRepository

__all__ = ["Decide", "Fold", "Loaded", "StreamRepository"]
