"""Where moto's server behaves unlike AWS in a way that breaks a correct client, the
embedded emulator behaves like AWS. Applied once in the emulator process (``wsgi``).

- SNS delivery to a deleted SQS queue: AWS drops that one delivery and goes on with the
  topic's other subscriptions. moto raises ``QueueDoesNotExist`` out of ``Publish``, so a
  single queue deleted without unsubscribing (a gateway instance that died) would make
  every later publish to its topic fail for everyone.
- DynamoDB conditional writes: AWS checks a write's condition and applies it as one step
  (a transaction likewise). moto checks, then writes, with nothing between them, and the
  server answers requests on many threads: two creations racing for a list's last place
  both pass a ``size(...) < :limit`` condition. Writes are serialised by one lock.
- DynamoDB transactions: AWS's cost does not depend on the table's size. moto backs up
  every table a transaction names by deep-copying it whole, once per action, so a
  transaction on a table of a few thousand items took tens of milliseconds of the
  emulator's one core and a service whose table grows (chat's conversations) slowed the
  whole stack within minutes. The items the transaction names are backed up instead,
  and put back if it is cancelled, as moto put back the tables.
- DynamoDB queries on a table's key: AWS reads one partition. moto sorts every item of
  the table and compares each one's hash key, so every query cost grew with the table
  (chat's, a few queries per turn, took the emulator's core within a 10-minute soak).
  A key query is given its own partition's items; index queries are left as they are.
"""

from __future__ import annotations

import copy
import logging
import threading
from functools import wraps
from types import SimpleNamespace
from typing import Any

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.sns.models import Subscription
from moto.sqs.exceptions import QueueDoesNotExist

logger = logging.getLogger(__name__)
_APPLIED = "_marketscope_skips_deleted_queues"
_ATOMIC = "_marketscope_atomic_writes"
_ITEM_BACKUPS = "_marketscope_item_backups"
_PARTITION_QUERIES = "_marketscope_partition_queries"
_QUERIED = threading.local()  # the partition a key query on this thread reads
# Table.query(hash_key, comparison, values, limit, start, forward, projection, index_name)
_INDEX_NAME_POSITION = 6
DYNAMODB_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")


def skip_deliveries_to_deleted_queues() -> None:
    """Make an SNS delivery to a queue that no longer exists a dropped delivery."""
    if getattr(Subscription, _APPLIED, False):
        return
    publish = Subscription.publish

    @wraps(publish)
    def publish_like_aws(self: Subscription, *args: Any, **kwargs: Any) -> None:
        try:
            publish(self, *args, **kwargs)
        except QueueDoesNotExist:
            if self.protocol != "sqs":
                raise
            logger.warning("dropped an SNS delivery to deleted queue %s", self.endpoint)

    Subscription.publish = publish_like_aws  # type: ignore[method-assign]
    setattr(Subscription, _APPLIED, True)


def atomic_dynamodb_writes() -> None:
    """Check a write's condition and apply it with no other write in between."""
    if getattr(DynamoDBBackend, _ATOMIC, False):
        return
    lock = threading.RLock()  # a transaction's own writes may go through put_item
    for name in DYNAMODB_WRITES:
        write = getattr(DynamoDBBackend, name)

        def serialised(*args: Any, _write: Any = write, **kwargs: Any) -> Any:
            with lock:
                return _write(*args, **kwargs)

        setattr(DynamoDBBackend, name, wraps(write)(serialised))
    setattr(DynamoDBBackend, _ATOMIC, True)


def _table_as_is(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """``copy.deepcopy`` for moto's DynamoDB module, but a table is not copied."""
    return value if isinstance(value, Table) else copy.deepcopy(value, memo)


Backup = tuple[Table, DynamoType, DynamoType | None, Item | None]


def _backups(backend: DynamoDBBackend, actions: list[dict[str, Any]]) -> list[Backup]:
    """A copy of each item a transaction names, as it is now (None: absent). An action
    moto will refuse (unknown table, missing key) is skipped: it changes nothing."""
    found: list[Backup] = []
    for action in actions:
        operation = next(iter(action.values()), None)
        if not isinstance(operation, dict):
            continue
        try:
            table = backend.get_table(operation["TableName"])
            attributes = operation.get("Key") or operation["Item"]
            key_names = [table.hash_key_attr, table.range_key_attr]
            key = {name: attributes[name] for name in key_names if name is not None}
            hash_key, range_key = backend.get_keys_value(table, key)
        except Exception:  # moto refuses this action itself, with AWS's error
            continue
        current = table.get_item(hash_key, range_key)
        found.append((table, hash_key, range_key, copy.deepcopy(current)))
    return found


def _restore(backups: list[Backup]) -> None:
    for table, hash_key, range_key, item in reversed(backups):  # the first copy wins
        if range_key is None:
            if item is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = item  # type: ignore[assignment]  # moto: hash-only tables
        elif item is None:
            table.items[hash_key].pop(range_key, None)
        else:
            table.items[hash_key][range_key] = item


def item_backups_for_transactions() -> None:
    """Back up the items a transaction names, not its tables."""
    if getattr(DynamoDBBackend, _ITEM_BACKUPS, False):
        return
    # moto deep-copies the tables through its module's ``copy``; items still are copied.
    setattr(dynamodb_models, "copy", SimpleNamespace(deepcopy=_table_as_is))  # noqa: B010
    transact = DynamoDBBackend.transact_write_items

    @wraps(transact)
    def transact_with_item_backups(
        self: DynamoDBBackend, transact_items: list[dict[str, Any]]
    ) -> None:
        backups = _backups(self, transact_items)
        try:
            transact(self, transact_items)
        except BaseException:
            _restore(backups)
            raise

    DynamoDBBackend.transact_write_items = transact_with_item_backups  # type: ignore[method-assign]
    setattr(DynamoDBBackend, _ITEM_BACKUPS, True)


def partition_reads_for_key_queries() -> None:
    """A query on the table's own key walks its partition, not the whole table."""
    if getattr(Table, _PARTITION_QUERIES, False):
        return
    all_items, query = Table.all_items, Table.query

    @wraps(all_items)
    def items_of_the_queried_partition(self: Table) -> list[Item]:
        queried = getattr(_QUERIED, "partition", None)
        if queried is not None and queried[0] is self:
            return list(queried[1])
        return all_items(self)

    @wraps(query)
    def query_one_partition(self: Table, hash_key: DynamoType, *args: Any, **kwargs: Any) -> Any:
        if len(args) > _INDEX_NAME_POSITION:
            index_name = args[_INDEX_NAME_POSITION]
        else:
            index_name = kwargs.get("index_name")
        if index_name:
            return query(self, hash_key, *args, **kwargs)
        found = self.items.get(hash_key)  # get: the table's defaultdict must not grow
        if found is None:
            partition: list[Item] = []
        elif self.range_key_attr:
            ranges = dict(found)  # a copy: a write may change the partition meanwhile
            partition = [ranges[key] for key in sorted(ranges)]
        else:
            partition = [found]  # type: ignore[list-item]  # moto: hash-only tables
        _QUERIED.partition = (self, partition)
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            _QUERIED.partition = None

    setattr(Table, "all_items", items_of_the_queried_partition)  # noqa: B010
    setattr(Table, "query", query_one_partition)  # noqa: B010
    setattr(Table, _PARTITION_QUERIES, True)


def apply() -> None:
    skip_deliveries_to_deleted_queues()
    item_backups_for_transactions()  # first: the lock below then covers it
    atomic_dynamodb_writes()
    partition_reads_for_key_queries()
