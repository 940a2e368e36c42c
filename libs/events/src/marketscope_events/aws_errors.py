"""What a botocore ``ClientError`` says went wrong, read the same way by every adapter.

Adapters translate these codes into their package's own errors (``raise ... from exc``);
nothing else should need to look inside ``exc.response``.
"""

from __future__ import annotations

from botocore.exceptions import ClientError


def error_code(exc: ClientError) -> str:
    """The response's ``Error.Code`` (``"ConditionalCheckFailedException"``), "" when absent."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def cancellation_codes(exc: ClientError) -> list[str]:
    """The per-item reason codes of a ``TransactionCanceledException``, in item order:
    ``"None"`` for an item that was fine, ``"ConditionalCheckFailed"``,
    ``"TransactionConflict"``, ``"ThrottlingError"``, ... Empty for any other error."""
    reasons = exc.response.get("CancellationReasons") or []
    return [str(reason.get("Code", "")) for reason in reasons]
