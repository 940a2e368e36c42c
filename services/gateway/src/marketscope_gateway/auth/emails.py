"""Email addresses as account names: one canonical form per address, and no characters
that make two addresses look alike or hide what an address says.

The canonical form is NFKC, then Unicode case folding, then NFKC again (folding can leave
a string unnormalised), with surrounding spaces, tabs and line breaks stripped: ``ada@example.com``
in fullwidth letters (U+FF41...) and ``ADA@example.com`` are one account. Refused (422), whatever
their place in the address: control characters (NUL included), format characters (the
bidirectional marks, embeddings, overrides and isolates U+200E/F, U+202A-U+202E,
U+2066-U+2069, zero-width joiners, BOM), surrogates, private-use and unassigned code
points, and line or paragraph separators.

Accounts made before this form stored ``email.strip().lower()``. For an address made of
characters NFKC and folding leave alone (every ASCII address) that is the canonical form
already; for the others ``legacy_email`` gives the old key, so their owners can still
log in, and a new registration of the same address is refused as taken.
"""

from __future__ import annotations

import re
import unicodedata

from marketscope_gateway.errors import InvalidRequest

MAX_EMAIL_LENGTH = 254
# Deliberately loose: the only proof an address works is mail reaching it.
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")
SURROUNDING_SPACE = " \t\r\n"
# Unicode general categories no address may contain, and how the refusal names them.
REFUSED_CATEGORIES = {
    "Cc": "a control character",
    "Cf": "an invisible formatting character (such as a bidirectional override)",
    "Cs": "a surrogate code point",
    "Co": "a private-use character",
    "Cn": "an unassigned code point",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}


def fold_email(email: str) -> str:
    """The canonical form of ``email``, without checking that it is a valid address."""
    folded = unicodedata.normalize("NFKC", email).strip(SURROUNDING_SPACE).casefold()
    return unicodedata.normalize("NFKC", folded)


def canonical_email(email: str) -> str:
    """The account name of ``email``; raises InvalidRequest (422) for an address with a
    refused character, longer than 254 characters or not shaped like ``local@domain.tld``."""
    folded = fold_email(email)
    for character in folded:
        kind = REFUSED_CATEGORIES.get(unicodedata.category(character))
        if kind is not None:
            raise InvalidRequest(
                f"The email address contains {kind} (U+{ord(character):04X}).",
                extensions={"code_point": f"U+{ord(character):04X}"},
            )
    if len(folded) > MAX_EMAIL_LENGTH or not EMAIL_PATTERN.match(folded):
        raise InvalidRequest("The email address is not valid.")
    return folded


def legacy_email(email: str) -> str:
    """The key accounts made before the canonical form were stored under."""
    return email.strip().lower()
