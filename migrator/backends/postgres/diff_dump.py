"""A PostgreSQL ``migrator dump`` as a desired schema: moved into the scratch schema.

pg_dump writes every name qualified by the schema it dumped and clears
``search_path``; run as written, a dump would create its objects in that
schema (the live one, when it exists) instead of the scratch space. The
dump's schema is found from its ``CREATE SCHEMA`` or, failing that, from the
bookkeeping table's qualified name; its qualifiers and the statements that
create it or clear ``search_path`` are taken out, so everything lands in
the scratch schema the connection's ``search_path`` names.
"""

from __future__ import annotations

import re

from migrator.state import DUMP_HEADER

_CREATE_SCHEMA = re.compile(r'^CREATE SCHEMA (?:IF NOT EXISTS )?("(?:[^"]|"")+"|\w+);\n', re.M)
_STATE_TABLE = re.compile(r'^CREATE TABLE IF NOT EXISTS ("(?:[^"]|"")+"|\w+)\.', re.M)
_CLEAR_PATH = re.compile(r"^SELECT pg_catalog\.set_config\('search_path', '', false\);\n", re.M)


def desired_text(text: str) -> str:
    """``text`` unchanged unless it is a ``migrator dump``; then relocated."""
    if not text.startswith(DUMP_HEADER):
        return text
    found = _CREATE_SCHEMA.search(text) or _STATE_TABLE.search(text)
    if found is None:
        return text
    quoted = found.group(1)
    bare = quoted[1:-1].replace('""', '"') if quoted.startswith('"') else quoted
    spellings = {quoted, '"' + bare.replace('"', '""') + '"'}
    if re.fullmatch(r"[a-z_][a-z0-9_$]*", bare):
        spellings.add(bare)
    text = _CLEAR_PATH.sub("", text)
    if _CREATE_SCHEMA.search(text):
        text = _CREATE_SCHEMA.sub("", text, count=1)
    names = "|".join(re.escape(s) for s in sorted(spellings, key=len, reverse=True))
    # A qualifier: the schema's name right before a dot and another name, not
    # itself the tail of a longer name or of a qualified one.
    return re.sub(rf'(?<![\w."$])(?:{names})\.(?=["\w])', "", text)
