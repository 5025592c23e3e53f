"""Usage errors as one line: `error: …` on stderr and exit code 2 — never click's Usage block and box.

Typer's default prints a multi-line usage block and a boxed error from the top-level `main`. These
command/group classes catch the usage error where the command line is parsed (`make_context`), so the
behaviour is the same whichever app the commands are registered on.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import typer
from typer.core import TyperCommand, TyperGroup

# Typer ships its own copy of click; its parser raises these, not the `click` package's classes.
from typer._click import Context
from typer._click.exceptions import NoArgsIsHelpError, UsageError

USAGE_EXIT = 2


def usage_error(message: str) -> NoReturn:
    """Report a bad command line (a value out of range, a contradiction between options) and exit 2."""
    print(f"error: {' '.join(message.split())}", file=sys.stderr, flush=True)
    raise typer.Exit(USAGE_EXIT)


def _report(exc: UsageError, ctx: Context | None, name: str | None) -> NoReturn:
    where = (ctx.command_path if ctx is not None else name) or ""
    hint = f" (see `{where} --help`)" if where else ""
    usage_error(f"{where + ': ' if where else ''}{exc.format_message()}{hint}")


class _OneLineParsing:
    """Catch the usage error where the command line is parsed, for commands and groups alike."""

    def make_context(self, info_name: str | None, args: list[str], parent: Context | None = None,
                     **extra: Any) -> Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except NoArgsIsHelpError:
            raise
        except UsageError as exc:
            _report(exc, exc.ctx, " ".join(filter(None, [parent.command_path if parent else None, info_name])))


class OneLineCommand(_OneLineParsing, TyperCommand):
    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as exc:  # a BadParameter raised while the command body checks its options
            _report(exc, ctx, None)


class OneLineGroup(_OneLineParsing, TyperGroup):
    def resolve_command(self, ctx: Context, args: list[str]):
        try:
            return super().resolve_command(ctx, args)
        except UsageError as exc:  # "No such command"
            _report(exc, ctx, None)
