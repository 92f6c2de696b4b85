"""The backend contract suite: every behaviour once per database (see backends.py)."""
