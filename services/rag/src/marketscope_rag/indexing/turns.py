"""Fair turns at the indexing work: CPU-bound steps (extraction, each slice of embedding)
run one turn at a time per worker slot, and a freed slot goes to the owners who wait in
round-robin order, not to whoever queued first.

So one owner's large document, embedded slice by slice, makes another owner's small one
wait for at most one slice per owner ahead of it, instead of the whole large document.
An owner's own turns keep their order. Waiting costs nothing but a future: the work
itself runs in a worker thread once the turn is granted.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class FairTurns:
    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self._free = slots
        # Owners with turns waiting, in the order they are served next.
        self._waiting: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()

    @property
    def waiting(self) -> int:
        return sum(len(queue) for queue in self._waiting.values())

    async def run(self, owner: str, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``work(*args, **kwargs)`` in a worker thread, during one of ``owner``'s turns."""
        async with self.turn(owner):
            return await asyncio.to_thread(work, *args, **kwargs)

    @asynccontextmanager
    async def turn(self, owner: str) -> AsyncIterator[None]:
        await self._acquire(owner)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, owner: str) -> None:
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        granted = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(owner, deque()).append(granted)
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self._release()  # granted as it was cancelled: pass the slot on
            else:
                self._forget(owner, granted)
            raise

    def _forget(self, owner: str, granted: asyncio.Future[None]) -> None:
        queue = self._waiting.get(owner)
        if queue is not None and granted in queue:
            queue.remove(granted)
            if not queue:
                del self._waiting[owner]

    def _release(self) -> None:
        """Hand the slot to the next owner in the rotation, who then goes to its end."""
        while self._waiting:
            owner, queue = next(iter(self._waiting.items()))
            granted = queue.popleft()
            if queue:
                self._waiting.move_to_end(owner)
            else:
                del self._waiting[owner]
            if not granted.done():
                granted.set_result(None)
                return
        self._free += 1
