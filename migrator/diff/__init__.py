"""``migrator diff`` and ``migrator drift``: schema models compared, turned into SQL, proven.

The generic half lives here: what a change script is (``model``), and the
orchestration that builds the current and desired models on scratch spaces,
asks the dialect for the script, proves it and writes it. The SQL itself is
dialect knowledge, in ``migrator/backends/<dialect>/differ.py``.
"""
