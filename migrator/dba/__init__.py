"""Commands for DBAs that sit beside the run loop: check, test, rehearse, dump, adopt, convert.

Each module does one job and is imported only when its command runs, so
``migrator up`` never pays for them.
"""
