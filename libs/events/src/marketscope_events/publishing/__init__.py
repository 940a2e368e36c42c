"""Publishing envelopes to SNS."""

from marketscope_events.publishing.attributes import message_attributes
from marketscope_events.publishing.lazy import LazySnsPublisher
from marketscope_events.publishing.sns import SnsPublisher
from marketscope_events.publishing.topics import TopicDirectory

__all__ = ["LazySnsPublisher", "SnsPublisher", "TopicDirectory", "message_attributes"]
