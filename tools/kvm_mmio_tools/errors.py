"""Exceptions the CLI turns into exit statuses, so that library code never calls sys.exit."""


class UsageError(Exception):
    """Bad input from the user (a name, a value out of range): the CLI prints it and exits 2."""


class ToolError(Exception):
    """A tool we depend on failed (TLC crashed, /dev/kvm unusable): the CLI exits 3."""


class ToolMissing(ToolError):
    """Something the command needs is not installed (java, TLC's jar, the spec): the CLI exits 4,
    so that a script can tell "install something" from "something broke" and from bad input."""
