"""Statements on libpq's connection, waited for in Python so signals get through.

``PQexecParams`` blocks in C, where Python runs no signal handler: Ctrl-C or
SIGTERM during ``SELECT pg_sleep(60)`` would wait the full minute. Here the
statement is sent and its answer awaited with ``select``, which a signal
interrupts; the handler's exception then sends PostgreSQL's cancel request
and closes the session, so the server stops the statement, rolls back and
releases every lock at once.

A transactional file's statements go in libpq's pipeline mode: still one
statement per extended-protocol message (no parameters, so a piece holding
two statements is refused), but sent without waiting for each answer, a
Sync every ``_BATCH`` statements. They run inside the file's explicit
transaction, so after an error the server skips or fails the rest and the
engine's ROLLBACK leaves nothing of the file.
"""

from __future__ import annotations

import contextlib
import re
import select
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg import pq

OK = frozenset({pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK, pq.ExecStatus.EMPTY_QUERY})
_ERRORS = frozenset({pq.ExecStatus.FATAL_ERROR, pq.ExecStatus.NONFATAL_ERROR})
_SYNC = pq.ExecStatus.PIPELINE_SYNC
_COPY_OUT = frozenset({pq.ExecStatus.COPY_OUT, pq.ExecStatus.COPY_BOTH})
_BATCH = 256  # statements between Syncs
_AHEAD = 8  # batches sent before their answers are read: bounds what is buffered
# Statements that could end the transaction: such a file runs one statement at a time,
# so nothing after them runs in an implicit transaction committed at the next Sync.
_TX_FIRST = frozenset("ABCEPSabceps")
_TX_WORDS = re.compile(r"(?:ABORT|BEGIN|COMMIT|END|PREPARE|ROLLBACK|START)\b", re.IGNORECASE)
_ENDED = frozenset({b"COMMIT", b"ROLLBACK", b"PREPARE TRANSACTION"})

Outcome = tuple[int, Exception | None] | None


def pipelinable(text: str, offsets: Sequence[int]) -> bool:
    """True unless libpq is older than 14 or a statement starts with a
    transaction-control keyword."""
    if not psycopg.Pipeline.is_supported():
        return False
    first, match = _TX_FIRST, _TX_WORDS.match
    return not any(text[o] in first and match(text, o) for o in offsets)


def execute(conn: psycopg.Connection[Any], sql: str) -> None:
    """Run one statement; raise the server's error as psycopg's exception."""
    pg = conn.pgconn
    with interruptible(conn):
        pg.send_query_params(sql.encode(), None)
        _flush(pg)
        first: pq.abc.PGresult | None = None
        while True:
            _wait_input(pg)
            result = pg.get_result()
            if result is None:
                break
            if first is None:
                first = result
            if result.status == pq.ExecStatus.COPY_IN:  # end it; the check below refuses it
                pg.put_copy_end(b"migrator does not stream COPY data")
                _flush(pg)
            elif result.status in _COPY_OUT:  # the splitter refuses these: never read one
                conn.close()
                break
    if first is not None:
        check(conn, first)


def check(conn: psycopg.Connection[Any], result: pq.abc.PGresult) -> None:
    status = result.status
    if status in OK:
        return
    if status in _ERRORS:
        raise psycopg.errors.error_from_result(result, encoding=conn.info.encoding)
    raise psycopg.ProgrammingError(
        f"statement returned {pq.ExecStatus(status).name}, which migrator cannot handle")


def run_pipelined(conn: psycopg.Connection[Any], text: str, offsets: Sequence[int],
                  ends: Sequence[int], tick: Callable[[int], None] | None = None) -> Outcome:
    """Execute ``text[offsets[i]:ends[i]]`` in pipeline mode; the SpanRunner outcome."""
    pg = conn.pgconn
    data = text.encode() if text.isascii() else None  # slicing bytes skips an encode each
    total = len(offsets)
    failed: tuple[int, Exception] | None = None
    ended: int | None = None
    sent = done = syncs = 0
    got = False  # a result of statement ``done`` was read; None then moves on
    send = pg.send_query_params
    try:
        with interruptible(conn):  # an exception closes the session, pipeline and all
            pg.enter_pipeline_mode()
            while syncs or (failed is None and done < total):
                while failed is None and sent < total and sent - done < _BATCH * _AHEAD:
                    stop = min(sent + _BATCH, total)
                    for i in range(sent, stop):
                        send(data[offsets[i]:ends[i]] if data is not None
                             else text[offsets[i]:ends[i]].encode(), None)
                    pg.pipeline_sync()
                    syncs, sent = syncs + 1, stop
                _exchange(pg)
                if tick is not None:
                    tick(done)
                while not pg.is_busy():
                    result = pg.get_result()
                    if result is None:
                        if not got:
                            break  # nothing more has arrived
                        done, got = done + 1, False
                        continue
                    status = result.status
                    if status == _SYNC:
                        syncs -= 1
                        continue
                    got = True
                    if failed is not None or ended is not None:
                        continue
                    if status not in OK:
                        try:
                            check(conn, result)
                        except psycopg.Error as exc:
                            failed = (done, exc)
                    elif result.command_status in _ENDED:
                        ended = done
            pg.exit_pipeline_mode()
    except psycopg.OperationalError as exc:  # the connection was lost mid-file
        # the server's own last word (57P01 terminating connection ...) names it better
        return failed or (min(done, total - 1), exc)
    if failed is not None and (ended is None or failed[0] < ended):
        return failed
    return None if ended is None else (ended, None)


@contextlib.contextmanager
def interruptible(conn: psycopg.Connection[Any]) -> Any:
    """On any exception while a statement may be running (a signal's), cancel it on
    the server and close the session: the server rolls back and drops its locks."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            conn.pgconn.get_cancel().cancel()
        conn.close()
        raise


def _flush(pg: pq.abc.PGconn) -> None:
    while pg.flush():
        select.select([], [pg.socket], [])


def _wait_input(pg: pq.abc.PGconn) -> None:
    while pg.is_busy():
        select.select([pg.socket], [], [])
        pg.consume_input()


def _exchange(pg: pq.abc.PGconn) -> None:
    """Send what is queued while reading what arrives (neither side may block the
    other), until something was read."""
    fd = pg.socket
    while True:
        pending = pg.flush()
        readable, _, _ = select.select([fd], [fd] if pending else [], [])
        if readable:
            pg.consume_input()
            return
