"""Write-behind for the sync history in the app servers: SCIM calls are recorded after their
response, in batches.

Writing each call's history row on its own costs a SCIM request a database round trip, a
commit, a cycle row lock and an insert into a table of nine indexes: in process, about a quarter
of a ``userName eq`` lookup's CPU (Python and PostgreSQL), and of a user create's. A gunicorn
worker instead hands each completed call's event (``portal.services.build_sync_event``, built in
the request) to this process's ``HistoryWriter``, whose thread writes everything pending every
``SYNC_HISTORY_FLUSH_MS`` (sooner once ``FLUSH_AT`` events wait) in one transaction
(``services.write_sync_events``).

What it trades: a tenant admin sees a call in the history up to ``SYNC_HISTORY_FLUSH_MS``
after it was answered, and a worker killed outright (``SIGKILL``, a gunicorn timeout) loses
the events it had not written yet. A worker that stops normally (a deploy, ``max_requests``,
``SIGTERM``) writes them first: ``stop`` runs in gunicorn's ``worker_exit`` hook. SCIM data
itself never waits here.

Only processes whose end is known start a writer (``kno2prov.gunicorn_conf``); everywhere
else (the test client, ``runserver``, management commands) ``writer()`` is ``None`` and
``portal.recording`` writes each call at once.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence

from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connections

from . import services

logger = logging.getLogger(__name__)

# Pending events that make the thread write before its interval is up.
FLUSH_AT = 500
# The most events one transaction writes.
BATCH = 1000
# Pending events beyond which new ones are dropped (logged) rather than held: a database that
# stays unreachable must not grow a worker's memory without bound.
MAX_PENDING = 50_000


class HistoryWriter:
    """Collects pending sync events and writes them from a thread of its own."""

    def __init__(self, interval_seconds: float) -> None:
        self.interval_seconds = interval_seconds
        self._lock = threading.Lock()
        self._pending: list[services.PendingSyncEvent] = []
        self._wake = threading.Event()
        self._stopping = False
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="history-writer", daemon=True)
        self._thread.start()

    def submit(self, pending: services.PendingSyncEvent) -> None:
        """Queue one event; the thread writes it within ``interval_seconds``."""
        with self._lock:
            if len(self._pending) >= MAX_PENDING:
                self._drop(1)
                return
            self._pending.append(pending)
            full = len(self._pending) >= FLUSH_AT
        if full:
            self._wake.set()

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def flush(self) -> int:
        """Write everything pending now, in the calling thread, at most ``BATCH`` events per
        transaction; answers how many events were written. Events the database could not be
        reached for stay pending, ahead of newer ones, for the next flush."""
        written = 0
        while True:
            with self._lock:
                batch, self._pending = self._pending[:BATCH], self._pending[BATCH:]
            if not batch:
                return written
            unreached = write(batch)
            written += len(batch) - len(unreached)
            if unreached:
                with self._lock:
                    kept = unreached[: max(0, MAX_PENDING - len(self._pending))]
                    self._drop(len(unreached) - len(kept))
                    self._pending[:0] = kept
                return written

    def _drop(self, count: int) -> None:
        """Count ``count`` events given up; log the first of every thousand, not each."""
        for _ in range(count):
            self.dropped += 1
            if self.dropped % 1000 == 1:
                logger.error(
                    "sync history not recorded: %d events pending, %d dropped so far",
                    len(self._pending),
                    self.dropped,
                )

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the thread and write what is still pending (logged if the database cannot
        be reached: those events are lost)."""
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout)
        self.flush()
        if self._pending:
            logger.error(
                "sync history lost at exit: %d events, database unreachable", len(self._pending)
            )

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self.interval_seconds)
            self._wake.clear()
            if self._stopping:
                break
            # This thread's connection outlives requests: apply CONN_MAX_AGE and drop a broken
            # one, as Django does around each request.
            close_old_connections()
            try:
                self.flush()
            except Exception:
                logger.exception("sync history writer failed")
        connections.close_all()


def write(batch: Sequence[services.PendingSyncEvent]) -> list[services.PendingSyncEvent]:
    """Write ``batch``; if that fails, what it left unwritten one event at a time, so one event
    the database refuses (its organization deleted meanwhile, say) costs only itself.

    Answers the events not written because the database could not be reached (a restart, a
    failover, a dropped connection), to be tried again: a blip loses no history.
    """
    try:
        services.write_sync_events(batch)
        return []
    except (OperationalError, InterfaceError):
        logger.warning(
            "sync history batch of %d events waits: database unreachable",
            len(batch),
            exc_info=True,
        )
        return _unwritten(batch)
    except Exception:
        logger.warning(
            "sync history batch of %d events failed; writing them one by one",
            len(batch),
            exc_info=True,
        )
    left = _unwritten(batch)
    for n, pending in enumerate(left):
        try:
            services.write_sync_events([pending])
        except (OperationalError, InterfaceError):
            return _unwritten(left[n:])
        except Exception:
            logger.exception(
                "could not record sync event%s request_id=%s",
                "'s members" if pending.written else "",
                pending.values["request_id"],
            )
    return []


def _unwritten(batch: Sequence[services.PendingSyncEvent]) -> list[services.PendingSyncEvent]:
    """The events of ``batch`` not written yet, or whose members are not, as they were before
    a failed attempt, which may have given unwritten events primary keys and cycles that were
    rolled back with it."""
    left = [pending for pending in batch if not pending.written or pending.members]
    for pending in left:
        if not pending.written:
            pending.pk = pending.cycle_id = None
    return left


_writer: HistoryWriter | None = None
_writer_pid: int | None = None


def start() -> HistoryWriter | None:
    """Start this process's writer (``SYNC_HISTORY_FLUSH_MS`` of 0: none, every call is written
    at once). For a process that will call ``stop`` before it exits."""
    global _writer, _writer_pid
    if settings.SYNC_HISTORY_FLUSH_MS <= 0:
        return None
    if _writer is None or _writer_pid != os.getpid():
        _writer = HistoryWriter(settings.SYNC_HISTORY_FLUSH_MS / 1000)
        _writer_pid = os.getpid()
    return _writer


def writer() -> HistoryWriter | None:
    """This process's writer, if ``start`` started one here (not in a parent before a fork)."""
    return _writer if _writer_pid == os.getpid() else None


def stop() -> None:
    """Write what is pending and stop this process's writer, if it has one."""
    global _writer, _writer_pid
    current = writer()
    _writer, _writer_pid = None, None
    if current is not None:
        current.stop()
