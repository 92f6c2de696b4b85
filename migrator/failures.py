"""The report of a failed migration: one message and one FailureInfo for JSON.

Every way of running a file (one transaction, a group, autocommit, the
MySQL journal) fails through these functions, so a failure reads the same
whichever way the file ran: the file and line, the statement, the
database's own message, what state the database is in, what to do next.
"""

from __future__ import annotations

from migrator.errors import DbError, FailureInfo, MigrationFailed
from migrator.prepared import Prepared
from migrator.progress import UP
from migrator.splitting import Statement

_SHOWN_LINES = 6
_SHOWN_CHARS = 400


def shorten(sql: str) -> str:
    lines = sql.strip().splitlines()
    text = "\n".join(lines[:_SHOWN_LINES])
    cut = len(lines) > _SHOWN_LINES
    if len(text) > _SHOWN_CHARS:
        text, cut = text[:_SHOWN_CHARS], True
    return text + (" …" if cut else "")


def failure(
    item: Prepared, stmt: Statement | None, total: int, db_error: DbError, state: str | None,
    *, atomic: bool | None = None, next_step: str | None = None,
) -> MigrationFailed:
    """The report. ``state`` replaces the default line on what remains; without
    ``atomic`` a given state means the file was not rolled back as a whole.
    ``next_step`` replaces the default advice."""
    m, src = item.migration, item.source
    line = stmt.line if stmt else 0
    if atomic is None:
        atomic = src.transactional and state is None
    info = FailureInfo(
        version=m.version,
        name=m.name,
        file=src.path,
        statement=stmt.index if stmt else 0,
        total=total,
        line=line,
        sql=shorten(stmt.sql) if stmt else "",
        db_error=db_error,
        transactional=atomic,
        direction=item.direction,
    )
    verb = "migration" if item.direction == UP else "rollback of"
    if info.transactional:
        head = f"{verb} {m.label} failed and was rolled back"
        state = state or "the database is as it was before this file"
    else:
        head = f"{verb} {m.label} failed part-way"
        if state is None:
            done = (stmt.index - 1) if stmt else total
            state = (
                f"no-transaction file: statements 1-{done} of {total} ran and stay; "
                "nothing was recorded for this migration"
                if done
                else "no-transaction file: no statement had run; nothing was recorded"
            )
    where = f"{src.path}:{line}" if line else src.path
    if stmt is not None and db_error.position:
        where = f"{src.path}:{_line_column(src.text, stmt, db_error.position)}"
    parts = [head, f"  file:      {where}"]
    if stmt is not None:
        parts.append(f"  statement: {stmt.index} of {total}")
        parts.extend("    " + ln for ln in info.sql.splitlines())
    parts.append(f"  database:  {db_error}")
    parts.append(f"  state:     {state}")
    parts.append(f"  next:      {next_step or _next_step(item, info)}")
    return MigrationFailed(info, "\n".join(parts))


def ended_transaction(item: Prepared, stmt: Statement) -> MigrationFailed:
    return failure(
        item, stmt, item.total,
        DbError("", "this statement ended the migration's transaction"),
        "statements before it were committed by it and are NOT rolled back; "
        "inspect the database before running again",
    )


def left_open(item: Prepared) -> MigrationFailed:
    """A no-transaction file ended inside a transaction of its own."""
    return failure(
        item, None, item.total, DbError("", "the file left a transaction open"),
        "it was rolled back; end every BEGIN in a no-transaction file with COMMIT",
    )


def commit_failed(item: Prepared, db_error: DbError) -> MigrationFailed:
    """COMMIT of a file's own transaction raised (a deferred foreign key, a full
    disk): the database rolled it back, statements and row alike."""
    ran = "its statement" if item.total == 1 else f"all {item.total} statements"
    if db_error.lost:  # the COMMIT may have reached the server before the connection went
        command = "up" if item.direction == UP else "down"
        return failure(
            item, None, item.total, db_error,
            f"the connection was lost during the COMMIT, after {ran} ran: the server "
            "committed the file with its row, or neither; 'migrator status' shows which",
            atomic=True,
            next_step=f"run 'migrator {command}' again once the server is back (a file "
                      "that was committed is not run twice)")
    return failure(
        item, None, item.total, db_error,
        f"the COMMIT failed after {ran} ran, so the file and its row were rolled back; "
        "the database is as it was before this file",
        atomic=True,
    )


def row_commit_failed(item: Prepared, db_error: DbError) -> MigrationFailed:
    """COMMIT of the bookkeeping row after a no-transaction file raised."""
    return failure(
        item, None, item.total, db_error,
        f"the COMMIT of its bookkeeping row failed: no-transaction file: statements "
        f"1-{item.total} of {item.total} ran and stay; nothing was recorded for this migration",
    )


def check_foreign_keys_failed(item: Prepared, violations: list[str]) -> MigrationFailed:
    shown = "; ".join(violations[:10])
    more = f" (and {len(violations) - 10} more)" if len(violations) > 10 else ""
    return failure(
        item, None, item.total,
        DbError("FOREIGN_KEY_CHECK", f"{len(violations)} foreign key violation(s): "
                f"{shown}{more}"),
        None,
    )


def in_group(exc: MigrationFailed, count: int, *, at_commit: bool = False) -> MigrationFailed:
    """The same failure, saying that the whole group was rolled back."""
    why = "the COMMIT failed; " if at_commit else ""
    state = (
        f"  state:     {why}--single-transaction: all {count} pending migrations were rolled "
        "back together; none of them is applied"
    )
    lines = [state if ln.startswith("  state:") else ln for ln in str(exc).splitlines()]
    return MigrationFailed(exc.info, "\n".join(lines))


def _line_column(text: str, stmt: Statement, position: int) -> str:
    """A server's 1-based character position in the statement, as the file's line:column."""
    at = min(stmt.offset + position - 1, len(text))
    return f"{text.count(chr(10), 0, at) + 1}:{at - text.rfind(chr(10), 0, at)}"


def _next_step(item: Prepared, info: FailureInfo) -> str:
    command = "up" if item.direction == UP else "down"
    if info.db_error.resource:
        return f"free disk space, then run 'migrator {command}' again (the file may be fine)"
    if info.db_error.lost and info.transactional:
        return (f"the connection to the database was lost (a server restart or a terminated "
                f"session), not a fault of the file: run 'migrator {command}' again once the "
                "server is back")
    if info.transactional:
        return f"fix {item.source.path} and run 'migrator {command}' again"
    return (
        f"undo or complete the statements that ran, make {item.source.path} safe to re-run "
        f"(IF NOT EXISTS), then run 'migrator {command}' again"
    )
