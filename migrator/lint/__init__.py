"""Safety rules: the statements that lock, rewrite or break a live database.

The framework here is dialect-neutral (rule metadata, suppression comments,
output formats); each dialect's rules live in ``backends/<name>/rules.py``,
on that dialect's own parse tree.
"""
