"""Public test helpers: an in-process dispatcher and a compact way to send KMIP requests.

Used by kmipd's own tests and usable by applications embedding kmipd::

    d = make_dispatcher()
    result = call(d, Operation.CREATE, payload, caller="alice")
    assert result.status == ResultStatus.SUCCESS
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import Clock

from .context import ServiceContext
from .crypto.errors import CryptoError
from .dispatch import Dispatcher, Scheduling
from .limits import Limits
from .messages import version_item
from .policy.model import PolicyEngine
from .processor import Caller, Processor
from .settings import Settings
from .spec import ResultStatus, Tag
from .store.memory import MemoryObjectStore
from .ttlv import Item, decode, encode


def run_now(f: Any, *args: Any, **kwargs: Any) -> Deferred:
    """A synchronous stand-in for C{deferToThreadPool}."""
    return maybeDeferred(f, *args, **kwargs)


class FakeClock(Clock):
    """A L{twisted.internet.task.Clock} (C{IReactorTime}) starting at a realistic time; C{now} and
    calling it give the current time, for tests that stamp requests."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        super().__init__()
        self.rightNow = now

    @property
    def now(self) -> float:
        return self.rightNow

    @now.setter
    def now(self, value: float) -> None:
        self.rightNow = value

    def __call__(self) -> float:
        return self.rightNow


def make_processor(store: Any = None, *, policy: Any = "default", clock: IReactorTime | None = None,
                   limits: Limits | None = None, settings: Settings | None = None,
                   credentials: Any = None, streams: Any = None, node: Any = None) -> Processor:
    """A L{Processor} on an in-memory store with the built-in policies and a fake clock."""
    if store is None:
        store = MemoryObjectStore()
    if policy == "default":
        policy = PolicyEngine()
    service = ServiceContext(policy=policy, settings=settings or Settings(), streams=streams)
    return Processor(store, service, clock or FakeClock(), limits=limits or Limits(), credentials=credentials,
                     node=node)


def make_dispatcher(store: Any = None, *, run_blocking: Any = run_now, scheduling: Scheduling | None = None,
                    **kwargs: Any) -> Dispatcher:
    """A L{Dispatcher} in front of L{make_processor}C{(store, **kwargs)}; jobs run at once by default."""
    processor = make_processor(store, **kwargs)
    return Dispatcher(processor, run_blocking, processor.clock,
                      scheduling or Scheduling.for_store(processor.store, 8))


def batch_item(operation: int, payload: Item | None = None, unique_id: bytes | None = None) -> Item:
    """A request Batch Item."""
    if payload is not None:
        payload = Item(Tag.REQUEST_PAYLOAD, payload.type, payload.value)
    return Item.struct(Tag.BATCH_ITEM, [
        Item.enum(Tag.OPERATION, operation),
        Item.bytes(Tag.UNIQUE_BATCH_ITEM_ID, unique_id) if unique_id is not None else None,
        payload,
    ])


def request(*items: Item, version: tuple[int, int] = (1, 4), header_extra: list[Item] | None = None) -> Item:
    """A Request Message around C{items} (Batch Items)."""
    return Item.struct(Tag.REQUEST_MESSAGE, [
        Item.struct(Tag.REQUEST_HEADER, [version_item(version), *(header_extra or []),
                                         Item.int(Tag.BATCH_COUNT, len(items))]),
        *items,
    ])


def payload(*children: Item | None) -> Item:
    """A Request Payload structure."""
    return Item.struct(Tag.REQUEST_PAYLOAD, list(children))


def attribute(name: str, value: Item) -> Item:
    """A KMIP 1.x Attribute structure: C{name} and C{value} retagged as the Attribute Value."""
    return Item.struct(Tag.ATTRIBUTE, [Item.text(Tag.ATTRIBUTE_NAME, name),
                                       Item(Tag.ATTRIBUTE_VALUE, value.type, value.value)])


@dataclass
class Result:
    """One response batch item, unpacked."""

    operation: int | None
    status: int
    reason: int | None
    message: str | None
    payload: Item | None
    unique_id: bytes | None

    @property
    def ok(self) -> bool:
        return self.status == ResultStatus.SUCCESS


def send(dispatcher: Dispatcher | Processor, message: Item, caller: str | None = "tester",
         groups: tuple[str, ...] | None = None) -> Item:
    """Run one Request Message synchronously; return the decoded Response Message."""
    processor = dispatcher.processor if isinstance(dispatcher, Dispatcher) else dispatcher
    reply = processor.process(encode(message), Caller(caller, groups))
    return decode(reply.data)


def results(response: Item) -> list[Result]:
    """The batch items of a Response Message."""
    out = []
    for bi in response.findall(Tag.BATCH_ITEM):
        out.append(Result(bi.get(Tag.OPERATION), bi.get(Tag.RESULT_STATUS), bi.get(Tag.RESULT_REASON),
                          bi.get(Tag.RESULT_MESSAGE), bi.find(Tag.RESPONSE_PAYLOAD),
                          bi.get(Tag.UNIQUE_BATCH_ITEM_ID)))
    return out


def call(dispatcher: Dispatcher | Processor, operation: int, body: Item | None = None, *,
         version: tuple[int, int] = (1, 4), caller: str | None = "tester",
         groups: tuple[str, ...] | None = None) -> Result:
    """Send one operation in its own request; return its result."""
    response = send(dispatcher, request(batch_item(operation, body), version=version), caller, groups)
    (result,) = results(response)
    return result


class ReasonAssertions:
    """A mixin for L{twisted.trial.unittest.SynchronousTestCase}s of the crypto layer."""

    def assertReason(self, reason: int, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Call C{fn} and check it fails with a L{kmipd.crypto.errors.CryptoError} of C{reason};
        return the error."""
        err = self.assertRaises(CryptoError, fn, *args, **kwargs)  # type: ignore[attr-defined]
        self.assertEqual(err.reason, reason)  # type: ignore[attr-defined]
        return err
