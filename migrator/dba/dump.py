"""``migrator dump``: the schema and the applied versions as one deterministic SQL file.

Committed next to the migrations, it shows in review what a migration did to
the schema (dbmate's schema.sql). Each backend's catalog writes it: objects
sorted by kind and name, not by creation order, and rows without timestamps,
so two databases with the same schema and history dump to the same bytes.
"""

from __future__ import annotations

from migrator.dba.spaces import opened


def dump_schema(url: str, table: str) -> str:
    """The dump text of the database at ``url``, read through a read-only connection."""
    with opened(url, table, readonly=True) as backend:
        return backend.catalog().dump()
