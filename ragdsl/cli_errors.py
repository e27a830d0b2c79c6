"""Exit codes and the one decorator that maps outcomes to them, shared by every command group.

0 success (warnings allowed), 1 a problem with the user's input (already
explained, no traceback), 2 an internal error (a bug in ragdsl; RAGDSL_DEBUG=1
prints the traceback), 130 interrupted.
"""

from __future__ import annotations

import functools
import os
import sys
import traceback

import click

EXIT_OK, EXIT_USER, EXIT_INTERNAL = 0, 1, 2


class UserError(Exception):
    """A problem with the command line or inputs, already explained in the message."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


def handle_errors(*user_errors: type[Exception]):
    """Decorate a click command: UserError and `user_errors` exit 1, anything unexpected exits 2."""
    caught = (UserError, *user_errors)

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except (click.exceptions.Exit, click.ClickException, click.Abort):
                raise
            except caught as exc:
                click.echo(f"error: {exc}", err=True)
                hint = getattr(exc, "hint", "")
                if hint:
                    click.echo(f"  = help: {hint}", err=True)
                sys.exit(EXIT_USER)
            except KeyboardInterrupt:
                click.echo("interrupted", err=True)
                sys.exit(130)
            except Exception as exc:  # noqa: BLE001 - the one place internal errors are caught
                if os.environ.get("RAGDSL_DEBUG"):
                    traceback.print_exc()
                click.echo(f"internal error: {type(exc).__name__}: {exc}\n"
                           "This is a bug in ragdsl. Please report it with the spec that triggered it "
                           "(set RAGDSL_DEBUG=1 to print the traceback).", err=True)
                sys.exit(EXIT_INTERNAL)

        return wrapper

    return decorate
