"""Checks for the project's own source, run by developers and by the tests."""
