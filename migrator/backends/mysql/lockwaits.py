"""Lock waits on MySQL/MariaDB: ``lock_wait_timeout`` per file and who blocks it.

Both waits a migration meets are covered: metadata locks (DDL behind an open
transaction or ``LOCK TABLES``; ``lock_wait_timeout``) and InnoDB row locks
(``innodb_lock_wait_timeout``); both time out with error 1205. Both are whole
seconds, so a fraction is rounded up. The blockers are read while the
migration waits, from a second connection: row locks exactly from
``information_schema.innodb_lock_waits`` (MariaDB, MySQL 5.7); metadata
locks from ``performance_schema.metadata_locks`` (MySQL 8) or MariaDB's
``metadata_lock_info`` plugin where present, else the sessions holding a
transaction open, since MariaDB without the plugin does not say more.
"""

from __future__ import annotations

import contextlib
import math
import threading
from typing import TYPE_CHECKING, Any

import pymysql  # type: ignore[import-untyped]

from migrator.backends.base import Blocker
from migrator.backends.lockwatch import POLL, BlockerWatch
from migrator.errors import DbError

if TYPE_CHECKING:
    from migrator.backends.mysql.connection import MysqlConnection

LOCK_WAIT_TIMEOUT = "1205"
_ROW_BLOCKERS = (
    "SELECT b.trx_mysql_thread_id FROM information_schema.innodb_lock_waits w "
    "JOIN information_schema.innodb_trx b ON b.trx_id = w.blocking_trx_id "
    "JOIN information_schema.innodb_trx r ON r.trx_id = w.requesting_trx_id "
    "WHERE r.trx_mysql_thread_id = %s"
)
_MDL_BLOCKERS = (  # MySQL 8 with performance_schema on
    "SELECT DISTINCT gt.processlist_id FROM performance_schema.metadata_locks w "
    "JOIN performance_schema.threads wt ON wt.thread_id = w.owner_thread_id "
    "JOIN performance_schema.metadata_locks g ON g.object_schema = w.object_schema "
    "AND g.object_name = w.object_name AND g.lock_status = 'GRANTED' "
    "AND g.owner_thread_id <> w.owner_thread_id "
    "JOIN performance_schema.threads gt ON gt.thread_id = g.owner_thread_id "
    "WHERE w.lock_status = 'PENDING' AND wt.processlist_id = %s"
)
_MDL_INFO_BLOCKERS = (  # MariaDB's metadata_lock_info plugin: granted locks only
    "SELECT DISTINCT o.thread_id FROM information_schema.metadata_lock_info o "
    "JOIN information_schema.metadata_lock_info m ON m.table_schema = o.table_schema "
    "AND m.table_name = o.table_name WHERE m.thread_id = %s AND o.thread_id <> %s"
)
_OPEN_TRANSACTIONS = (
    "SELECT trx_mysql_thread_id FROM information_schema.innodb_trx "
    "WHERE trx_mysql_thread_id NOT IN (%s, CONNECTION_ID())"
)
_DESCRIBE = (
    "SELECT p.id, coalesce(p.user, ''), "
    "coalesce(max(timestampdiff(SECOND, t.trx_started, now())), p.time), "
    "coalesce(p.info, max(t.trx_query), '') FROM information_schema.processlist p "
    "LEFT JOIN information_schema.innodb_trx t ON t.trx_mysql_thread_id = p.id "
    "WHERE p.id IN ({}) GROUP BY p.id, p.user, p.time, p.info ORDER BY p.id"
)


class MysqlLockWaits(BlockerWatch):
    """The ``LockWaits`` capability over a backend's connection."""

    def __init__(self, owner: MysqlConnection) -> None:
        super().__init__()
        self.owner = owner
        self._saved: tuple[int, int] | None = None  # the session's values before the first set

    def _execute(self, sql: str, args: tuple[Any, ...] | None = None) -> list[tuple[Any, ...]]:
        with self.owner.conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall() or [])

    def set_lock_timeout(self, seconds: float | None) -> None:
        if seconds is None:
            if self._saved is not None:
                self._execute("SET SESSION lock_wait_timeout = %s, "
                              "innodb_lock_wait_timeout = %s", self._saved)
            return
        if self._saved is None:
            row = self._execute("SELECT @@SESSION.lock_wait_timeout, "
                                "@@SESSION.innodb_lock_wait_timeout")[0]
            self._saved = (int(row[0]), int(row[1]))
        whole = max(math.ceil(seconds), 1)
        self._execute("SET SESSION lock_wait_timeout = %s, innodb_lock_wait_timeout = %s",
                      (whole, whole))

    def is_lock_timeout(self, error: DbError) -> bool:
        return error.code.split(" ")[0] == LOCK_WAIT_TIMEOUT

    def _session_id(self) -> int:
        return int(self.owner.conn.thread_id())

    def _poll(self, thread: int, stop: threading.Event) -> None:
        """Until ``stop``: note the sessions blocking ``thread``, keeping the last seen."""
        with contextlib.suppress(Exception):
            conn = self.owner.connect(timeout=5)
            try:
                with conn.cursor() as cur:
                    while not stop.wait(POLL):
                        ids = _blocking(cur, thread)
                        if ids:
                            cur.execute(_DESCRIBE.format(", ".join(["%s"] * len(ids))),
                                        tuple(ids))
                            self._seen = [Blocker(int(r[0]), str(r[1]), float(r[2] or 0),
                                                  str(r[3])) for r in cur.fetchall()]
            finally:
                conn.close()


def _blocking(cur: Any, thread: int) -> list[int]:
    """The sessions ``thread`` waits for; empty when it does not wait for a lock."""
    rows = _rows(cur, _ROW_BLOCKERS, (thread,))
    if rows:
        return rows
    cur.execute("SELECT coalesce(state, '') FROM information_schema.processlist "
                "WHERE id = %s", (thread,))
    row = cur.fetchone()
    if not row or "metadata lock" not in str(row[0]).lower():
        return []
    return (_rows(cur, _MDL_BLOCKERS, (thread,))
            or _rows(cur, _MDL_INFO_BLOCKERS, (thread, thread))
            or _rows(cur, _OPEN_TRANSACTIONS, (thread,)))


def _rows(cur: Any, sql: str, args: tuple[int, ...]) -> list[int]:
    try:
        cur.execute(sql, args)
    except pymysql.err.MySQLError:  # this server lacks that table
        return []
    return [int(r[0]) for r in cur.fetchall() if r[0] is not None]
