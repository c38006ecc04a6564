"""Exceptions the CLI turns into exit statuses, so that library code never calls sys.exit."""


class UsageError(Exception):
    """Bad input from the user (a name, a value out of range): the CLI prints it and exits 2."""


class ToolError(Exception):
    """A tool we depend on failed (java missing, TLC crashed or timed out): the CLI exits 3."""
