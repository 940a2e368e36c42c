"""The heap a service builds at start is frozen out of the collector's full passes, once
per process, and what is made afterwards is still collected."""

from __future__ import annotations

import gc
import weakref

from marketscope_servicekit import heap


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


def test_the_startup_heap_is_frozen_once_and_later_garbage_is_still_collected() -> None:
    frozen = heap.freeze_startup_heap()
    assert frozen > 1000  # at least the modules this process imported
    assert gc.get_freeze_count() == frozen

    made_after = Node()
    gone = weakref.ref(made_after)
    del made_after
    gc.collect()
    assert gone() is None  # the collector still frees what start did not leave

    # A second app in the same process does not freeze what the first left running.
    kept_alive = [Node() for _ in range(100)]
    assert heap.freeze_startup_heap() == frozen
    del kept_alive
