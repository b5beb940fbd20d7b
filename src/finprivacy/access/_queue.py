"""A cheap in-memory audit queue for the decision hot path.

Building a full :class:`~finprivacy.audit.events.AuditEvent` costs more than the
access decision itself. :class:`AuditQueue` is an :class:`AuditSink` that access
control recognises: it enqueues the raw facts of each decision (a tuple) and builds
the events only when they are drained into a durable sink (usually an ``AuditLog``),
in order. Applications flush it at the end of a request, on a timer, or let it
flush itself every ``flush_every`` records.
"""

from __future__ import annotations

import datetime as _dt
import threading
from collections import deque
from collections.abc import Iterable
from typing import Any

from ..audit.events import AuditEvent, AuditSink
from ..errors import ConfigurationError

__all__ = ["AuditQueue"]

_Item = tuple[Any, ...]


class AuditQueue:
    """An in-memory :class:`AuditSink` that defers building events until drained.

    ``target`` is the durable sink :meth:`flush` writes to; ``flush_every`` makes
    the queue flush itself once that many records are waiting (0: never). Events
    keep the decision time they were recorded with, so a late flush does not
    change when things happened. Thread-safe; events come out in arrival order.
    """

    __slots__ = ("_flush_every", "_items", "_lock", "_target")

    def __init__(self, target: AuditSink | None = None, *, flush_every: int = 0) -> None:
        if flush_every < 0:
            raise ConfigurationError("flush_every must be 0 or positive")
        if flush_every and target is None:
            raise ConfigurationError("flush_every needs a target to flush into")
        self._target = target
        self._flush_every = flush_every
        self._items: deque[_Item] = deque()
        self._lock = threading.Lock()

    @property
    def target(self) -> AuditSink | None:
        """The durable sink :meth:`flush` writes to."""
        return self._target

    def record(self, event: AuditEvent) -> int:
        """Enqueue a ready-made event; return the number of records waiting."""
        return self._push((event,))

    def _push(self, item: _Item) -> int:
        items = self._items
        items.append(item)
        n = len(items)
        if self._flush_every and n >= self._flush_every:
            self.flush()
        return n

    def _take(self) -> list[_Item]:
        # popleft is atomic, so records appended concurrently are never lost.
        items: list[_Item] = []
        pop = self._items.popleft
        for _ in range(len(self._items)):
            try:
                items.append(pop())
            except IndexError:  # pragma: no cover - emptied by a racing drain
                break
        return items

    def drain(self) -> list[AuditEvent]:
        """Remove and return every waiting event, built, in arrival order."""
        with self._lock:
            items = self._take()
        return [_build(item) for item in items]

    def flush(self, sink: AuditSink | None = None) -> int:
        """Write every waiting event to ``sink`` (default: the target); return how many.

        If the sink fails, the events not yet written go back to the front of the
        queue, so nothing is lost.
        """
        out = sink or self._target
        if out is None:
            raise ConfigurationError("AuditQueue.flush needs a sink (no target was given)")
        with self._lock:
            items = self._take()
            done = 0
            try:
                for item in items:
                    out.record(_build(item))
                    done += 1
            except BaseException:
                self._items.extendleft(reversed(items[done:]))
                raise
            return done

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"AuditQueue({len(self._items)} waiting)"


def _build(item: _Item) -> AuditEvent:
    """Build the event of one queued record: a ready event, or an access's raw facts.

    Records hold no functions or other containers the garbage collector tracks, so a
    long queue costs the collector nothing once each record has been seen once.
    """
    if len(item) == 1:
        event: AuditEvent = item[0]
        return event
    return _access_event(*item)


def _access_event(version: str, head: tuple[str, str, str], session: str, actor: str,
                  tenant: str, purpose: str, subject: str | None, action: str,
                  now: _dt.datetime,
                  fields: tuple[Iterable[str], Iterable[str], Iterable[str]],
                  error: str, request_id: str = "") -> AuditEvent:
    """Build the audit event of an allowed access (possibly late, from an AuditQueue).

    ``head`` is the verdict's (basis, grant id, on behalf of) and ``fields`` the
    (returned, masked, hidden) field paths: tuples made once, shared by records;
    ``request_id`` the web request's (:class:`~finprivacy.access.in_request`).
    """
    via, grant_id, on_behalf_of = head
    returned, masked, hidden = fields
    details: dict[str, str] = {"basis": via}
    fields_masked = (*masked, *hidden)
    if hidden:
        details["fields_hidden"] = ",".join(hidden)
    if error:
        details["error"] = error
    if session:
        details["break_glass_session"] = session
    return AuditEvent(
        action=action, actor=actor, subject=subject or "", purpose=purpose,
        decision="masked" if fields_masked else "allowed", reason=via, time=now,
        tenant=tenant, on_behalf_of=on_behalf_of, grant_id=grant_id,
        fields_returned=tuple(returned), fields_masked=fields_masked,
        break_glass=bool(session), request_id=request_id, policy_version=version,
        details=details)
