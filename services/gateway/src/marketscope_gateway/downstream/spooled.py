"""A request body read off the client once and kept for the call to a service.

The signed identity covers a digest of the body, and the signature goes out in the
headers, before the body: a streamed upload has to be read to its end first. It is kept
in memory up to ``MEMORY_BYTES`` and in a temporary file beyond, so a 20 MiB upload
costs disk rather than memory, and it can be sent a second time when the connection it
was first sent on turns out dead.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from types import TracebackType

MEMORY_BYTES = 1024 * 1024
CHUNK_BYTES = 64 * 1024


class SpooledBody:
    """Iterating it yields the whole body from its start, however often."""

    def __init__(self) -> None:
        self._file = tempfile.SpooledTemporaryFile(max_size=MEMORY_BYTES)  # noqa: SIM115
        self._hash = hashlib.sha256()
        self.size = 0

    @classmethod
    async def read(cls, chunks: AsyncIterable[bytes]) -> SpooledBody:
        """All of ``chunks``; what reading them raises (the client left) propagates."""
        body = cls()
        try:
            async for chunk in chunks:
                body._file.write(chunk)
                body._hash.update(chunk)
                body.size += len(chunk)
        except BaseException:
            body.close()
            raise
        return body

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self._file.seek(0)
        while chunk := self._file.read(CHUNK_BYTES):
            yield chunk

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> SpooledBody:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
