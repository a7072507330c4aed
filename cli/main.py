"""The `provgate` group, shared options, and the one place errors become exit codes.

Exit codes (SPEC §4): 0 success / package passes; 1 the gate blocked (or the event chain is
broken); 2 usage or operational error.
"""

from __future__ import annotations

import gc
import os
import sqlite3
import sys
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import click

from provenance.errors import ProvgateError
from provenance.workspace import Workspace, init_workspace, locate_workspace, open_workspace

F = TypeVar("F", bound=Callable[..., Any])

EXIT_BLOCKED = 1
EXIT_ERROR = 2


class App:
    """What every command needs: the workspace (found lazily) and its store."""

    def __init__(self, workspace: Path | None) -> None:
        self.explicit = workspace
        self._store: Any = None

    @cached_property
    def workspace(self) -> Workspace:
        root, may_create = locate_workspace(self.explicit, dict(os.environ), Path.cwd())
        if may_create:
            return init_workspace(root)
        return open_workspace(root)

    @property
    def store(self) -> Any:
        if self._store is None:
            from provenance.stores import open_store

            self._store = open_store(self.workspace)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


class ProvgateGroup(click.Group):
    """Turns library errors into one line on stderr and exit code 2, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ProvgateError as exc:
            click.echo(f"provgate: error: {exc}", err=True)
            ctx.exit(EXIT_ERROR)
        except KeyboardInterrupt:
            click.echo("provgate: interrupted", err=True)
            ctx.exit(130)
        except sqlite3.Error as exc:  # a store damaged outside provgate, or a disk failing
            click.echo(f"provgate: error: store: {exc}", err=True)
            ctx.exit(EXIT_ERROR)
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"provgate: error: {where}{exc.strerror or exc}", err=True)
            ctx.exit(EXIT_ERROR)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:  # a bug of ours: still one line, and never a passing exit code
            if os.environ.get("PROVGATE_DEBUG"):
                raise
            click.echo(
                f"provgate: internal error: {type(exc).__name__}: {exc} "
                "(PROVGATE_DEBUG=1 shows the traceback)",
                err=True,
            )
            ctx.exit(EXIT_ERROR)


class UsageFailure(click.UsageError):
    exit_code = EXIT_ERROR


def workspace_option(f: F) -> F:
    """--workspace on every command (and on the group), as SPEC §4 asks."""

    def remember(ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path | None:
        if value is not None:
            ctx.ensure_object(dict)["workspace"] = value
        return value

    return click.option(
        "--workspace",
        type=click.Path(path_type=Path, file_okay=False),
        expose_value=False,
        callback=remember,
        is_eager=True,
        help="Workspace folder (default: $PROVGATE_WORKSPACE, the nearest .provgate/, "
        "or the user's data directory).",
    )(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(f)


def get_app(ctx: click.Context) -> App:
    root = ctx.find_root()
    obj = root.ensure_object(dict)
    if "app" not in obj:
        obj["app"] = App(obj.get("workspace"))
        root.call_on_close(obj["app"].close)
    app: App = obj["app"]
    return app


def on_terminal() -> bool:
    return sys.stderr.isatty()


@click.group(cls=ProvgateGroup, context_settings={"help_option_names": ["-h", "--help"]})
@workspace_option
@click.version_option(package_name="provgate")
def cli() -> None:
    """Keep unapproved generative-AI material out of deliveries."""


def main() -> None:
    # The objects made by imports live as long as the process: the cyclic collector need not
    # walk them again and again while a scan allocates (gen0 runs every 10,000 allocations
    # instead of 700), nor once more at exit, which took ~0.1 s after a large scan.
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
    try:
        cli(prog_name="provgate")
    finally:
        gc.freeze()


# The command modules register themselves on `cli`; imported last because they import it.
from . import (  # noqa: E402, F401
    approvals,
    assets,
    declarations,
    gate,
    log,
    serve,
    store_cmds,
    users,
    watch,
    workspace_cmds,
)
