"""Errors the library raises for bad input; the CLI turns them into exit code 2."""


class UsageError(Exception):
    """Bad input (argument, file, reference): exit 2. The message names the bad value and the fix."""
