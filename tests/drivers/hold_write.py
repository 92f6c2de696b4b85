"""Hold an open write transaction on a SQLite file until stdin closes.

Usage: hold_write.py DB [JOURNAL_MODE]. Prints 'holding' once BEGIN IMMEDIATE
succeeded, so the test knows the database is busy from then on; ends with
ROLLBACK when stdin reaches EOF (or the process is killed).
"""

from __future__ import annotations

import sqlite3
import sys


def main() -> None:
    conn = sqlite3.connect(sys.argv[1], timeout=60, isolation_level=None)
    if len(sys.argv) > 2:
        conn.execute(f"PRAGMA journal_mode={sys.argv[2]}")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("CREATE TABLE IF NOT EXISTS holder_scratch(x)")
    print("holding", flush=True)
    sys.stdin.read()
    conn.execute("ROLLBACK")
    conn.close()


if __name__ == "__main__":
    main()
