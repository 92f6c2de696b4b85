"""Issue #12 point 6, bounded: ``diff`` between the schemas after N and N+k files of a
history must write a pair that passes its own proof.

The real sets (grocy, vaultwarden, Plume) are swept by bench/diff_history.py by
hand; CI cannot fetch them, so this runs the same sweep on look-alikes of
their shapes: the diesel and FTS sets of test_realworld plus a history of the
kinds of change those projects make (appended columns, hand-written 12-step
rebuilds, views and triggers over rebuilt tables, renames, dropped columns,
keyword-named columns, partial and expression indexes).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from diff_history import Outcome, sweep
from test_realworld import DIESEL, FTS

VIEW = ("CREATE VIEW stock_current AS SELECT p.name, SUM(s.amount) AS amount "
        "FROM stock s JOIN products p ON p.id = s.product_id GROUP BY p.name;\n")
HISTORY = [
    ("create", "CREATE TABLE products (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,"
               " price REAL);\nCREATE TABLE stock (id INTEGER PRIMARY KEY, product_id INTEGER "
               "NOT NULL REFERENCES products(id), amount REAL DEFAULT 0);\n"),
    ("columns", "ALTER TABLE products ADD COLUMN description TEXT;\n"
                "ALTER TABLE products ADD COLUMN \"order\" INTEGER DEFAULT 0;\n"),
    ("view", VIEW),
    ("trigger", "CREATE TABLE log (id INTEGER PRIMARY KEY, msg TEXT);\n"
                "CREATE TRIGGER stock_ai AFTER INSERT ON stock BEGIN\n"
                "  INSERT INTO log (msg) VALUES ('stock, ' || new.product_id);\nEND;\n"),
    ("rebuild", "-- grocy-style hand-made rebuild\nDROP VIEW stock_current;\n"
                "CREATE TABLE stock_new (id INTEGER PRIMARY KEY, product_id INTEGER NOT NULL "
                "REFERENCES products(id), amount REAL NOT NULL DEFAULT 0, best_before DATE);\n"
                "INSERT INTO stock_new (id, product_id, amount) SELECT id, product_id, amount "
                "FROM stock;\nDROP TABLE stock;\nALTER TABLE stock_new RENAME TO stock;\n"
                "CREATE TRIGGER stock_ai AFTER INSERT ON stock BEGIN\n"
                "  INSERT INTO log (msg) VALUES ('stock, ' || new.product_id);\nEND;\n"
                + VIEW),
    ("indexes", "CREATE INDEX stock_bb ON stock(best_before) WHERE best_before IS NOT NULL;\n"
                "CREATE UNIQUE INDEX products_lower ON products(lower(name));\n"),
    ("rename", "ALTER TABLE log RENAME TO audit;\nALTER TABLE audit RENAME COLUMN msg TO text;\n"),
    ("drop_column", "DROP VIEW stock_current;\nALTER TABLE products DROP COLUMN description;\n"
                    + VIEW),
    ("retype", "DROP VIEW stock_current;\n"
               "CREATE TABLE p2 (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL "
               "UNIQUE, price NUMERIC, \"order\" INTEGER DEFAULT 0);\n"
               "INSERT INTO p2 SELECT id, name, price, \"order\" FROM products;\n"
               "DROP TABLE products;\nALTER TABLE p2 RENAME TO products;\n"
               "CREATE UNIQUE INDEX products_lower ON products(lower(name));\n" + VIEW),
    ("drop_table", "DROP TRIGGER stock_ai;\nDROP TABLE audit;\n"),
    ("seed", "INSERT INTO products (name, price) VALUES ('salt', 1.5);\n"),
]


def steps_of(files: dict[str, str]) -> list[tuple[str, str]]:
    ups = sorted((rel, text) for rel, text in files.items()
                 if rel.endswith((".up.sql", "/up.sql")))
    return [(rel, text) for rel, text in ups]


def check(outcome: Outcome, tried: int) -> None:
    assert outcome.failures == [], "\n\n".join(
        f"N={n} k={k}:\n{e}" for n, k, e in outcome.failures)
    assert outcome.tried == tried
    assert outcome.passed > 0


def test_every_pair_of_a_varied_history_passes_its_proof() -> None:
    check(sweep(HISTORY, ks=(1, 3, 11)), tried=len(HISTORY) + len(HISTORY) - 2 + 1)


def test_look_alikes_of_real_sets_pass() -> None:
    check(sweep(steps_of(DIESEL), ks=(1, 2)), tried=3)
    check(sweep(steps_of(FTS), ks=(1, 2, 3)), tried=6)
