"""The notifier service's errors.

`NotifierError` is the base of every error of the service. Each subclass also derives from
one of servicekit's shared kinds, which fixes its status and problem type.
"""

from __future__ import annotations

from marketscope_servicekit import Conflict, InvalidRequest, NotFound, ServiceError


class NotifierError(ServiceError):
    """Base of every error of the notifier service."""


class AlertNotFound(NotFound, NotifierError):
    """Unknown, deleted, or another user's: the same answer for all three."""

    def __init__(self, alert_id: str) -> None:
        super().__init__(f"No alert {alert_id}.", extensions={"alert_id": alert_id})


class AlertConflict(Conflict, NotifierError):
    """The alert changed meanwhile (a price fired it, another request), or it has ended."""

    def __init__(self, alert_id: str, detail: str | None = None) -> None:
        super().__init__(
            detail or f"Alert {alert_id} changed meanwhile; read it and try again.",
            extensions={"alert_id": alert_id},
        )


class InvalidAlert(InvalidRequest, NotifierError):
    """An alert that cannot be set as asked (its condition, frequency or expiry)."""


class NotificationNotFound(NotFound, NotifierError):
    def __init__(self, notification_id: str) -> None:
        super().__init__(
            f"No notification {notification_id}.",
            extensions={"notification_id": notification_id},
        )


class ChannelNotFound(NotFound, NotifierError):
    """Unknown, deleted, or another user's channel: the same answer for all three."""

    def __init__(self, channel_id: str) -> None:
        super().__init__(
            f"No notification channel {channel_id}.", extensions={"channel_id": channel_id}
        )


class DeliveryNotFound(NotFound, NotifierError):
    def __init__(self, delivery_id: str) -> None:
        super().__init__(f"No delivery {delivery_id}.", extensions={"delivery_id": delivery_id})


class InvalidChannel(InvalidRequest, NotifierError):
    """A channel that cannot be set up as asked (its URL, address or number), or a wrong
    verification code."""


class ChannelConflict(Conflict, NotifierError):
    """The channel is not in a state that allows the action (e.g. verifying an active one,
    or sending to one still awaiting verification)."""

    def __init__(self, channel_id: str, detail: str) -> None:
        super().__init__(detail, extensions={"channel_id": channel_id})
