"""The `provgate` group, shared options, and the one place errors become exit codes.

Exit codes (SPEC §4): 0 success / package passes; 1 the gate blocked (or the event chain is
broken); 2 usage or operational error.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import click

from provenance.errors import ProvgateError
from provenance.names import one_line
from provenance.workspace import Workspace, init_workspace, locate_workspace, open_workspace

from .render import echo

F = TypeVar("F", bound=Callable[..., Any])

EXIT_BLOCKED = 1
EXIT_ERROR = 2
EXIT_BROKEN_PIPE = 141


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
            # Tag writes a crash interrupted are finished (or dropped) before anything else.
            from provenance.history.intents import resolve_pending

            resolve_pending(self.workspace.config, self._store)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


class UsageFailure(click.UsageError):
    exit_code = EXIT_ERROR


@dataclass
class Globals:
    """The options every command takes, before or after the subcommand: resolved here only.

    A value given after the subcommand wins over one given before it.
    """

    workspace: Path | None = None
    json: bool = False
    format: str | None = None
    quiet: bool = False


def globals_of(ctx: click.Context) -> Globals:
    obj = ctx.find_root().ensure_object(dict)
    found: Globals = obj.setdefault("globals", Globals())
    return found


def _remember(field: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        if value not in (None, False):
            setattr(globals_of(ctx), field, value)
        return value

    return callback


def _global_params() -> list[click.Parameter]:
    return [
        click.Option(
            ["--workspace"],
            type=click.Path(path_type=Path, file_okay=False),
            expose_value=False,
            callback=_remember("workspace"),
            is_eager=True,
            help="Workspace folder (default: $PROVGATE_WORKSPACE, the nearest .provgate/, "
            "or the user's data directory).",
        ),
        click.Option(
            ["-q", "--quiet"],
            is_flag=True,
            expose_value=False,
            callback=_remember("quiet"),
            help="No progress bar and no summary lines; errors and the exit code still tell.",
        ),
    ]


def _with_globals(params: list[click.Parameter]) -> list[click.Parameter]:
    have = {name for p in params for name in p.opts} if params else set()
    return list(params) + [p for p in _global_params() if not have & set(p.opts)]


class ProvgateCommand(click.Command):
    """Every command takes the global options (--workspace, --quiet) after its name too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params = _with_globals(self.params)


class ProvgateSubgroup(click.Group):
    """A command group (`log`, `store`, `user`): the global options after its name too."""

    command_class = ProvgateCommand

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params = _with_globals(self.params)


ProvgateSubgroup.group_class = ProvgateSubgroup


# The module that defines each command. A command's module is imported only when that command
# is run (or `--help` lists them all), so `provgate scan` does not load the gate, the timeline
# adapters or the review page, and `--version` loads none. tests/cli/test_help_cli.py checks
# this table against what the modules define.
COMMAND_MODULES = {
    "approve": "approvals",
    "revoke": "approvals",
    "inspect": "assets",
    "scan": "assets",
    "tag": "assets",
    "history": "assets",
    "ls": "assets",
    "declare": "declarations",
    "declarations": "declarations",
    "digest": "declarations",
    "check": "gate",
    "report": "gate",
    "log": "log",
    "serve": "serve",
    "store": "store_cmds",
    "user": "users",
    "watch": "watch",
    "init": "workspace_cmds",
}


class ProvgateGroup(click.Group):
    """Turns library errors into one line on stderr and exit code 2, never a traceback."""

    command_class = ProvgateCommand
    group_class = ProvgateSubgroup

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMAND_MODULES) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMAND_MODULES.get(cmd_name)
        if cmd_name not in self.commands and module is not None:
            importlib.import_module(f"{__package__}.{module}")  # registers itself on `cli`
        return self.commands.get(cmd_name)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params = _with_globals(self.params)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ProvgateError as exc:
            echo(one_line(f"provgate: error: {exc}"), err=True)
            ctx.exit(EXIT_ERROR)
        except KeyboardInterrupt:
            echo("provgate: interrupted", err=True)
            ctx.exit(130)
        except BrokenPipeError:
            # The reader went away (`provgate ls | head`): nothing to say, and nobody to say
            # it to. 141 (128 + SIGPIPE) as other tools: never a passing exit code for output
            # that was cut short. Further writes, and the flush at exit, go nowhere.
            with contextlib.suppress(OSError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(EXIT_BROKEN_PIPE)
        except sqlite3.Error as exc:  # a store damaged outside provgate, or a disk failing
            echo(f"provgate: error: store: {exc}", err=True)
            ctx.exit(EXIT_ERROR)
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            echo(one_line(f"provgate: error: {where}{exc.strerror or exc}"), err=True)
            ctx.exit(EXIT_ERROR)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:  # a bug of ours: still one line, and never a passing exit code
            if os.environ.get("PROVGATE_DEBUG"):
                raise
            echo(
                one_line(
                    f"provgate: internal error: {type(exc).__name__}: {exc} "
                    "(PROVGATE_DEBUG=1 shows the traceback)"
                ),
                err=True,
            )
            ctx.exit(EXIT_ERROR)


def workspace_option(f: F) -> F:
    """A no-op kept for command modules that still name it: every command and group gets
    --workspace (and --quiet) from the command classes above."""
    return f


def json_option(f: F) -> F:
    """--json, passed as `as_json`; `provgate --json CMD` counts too."""

    def merged(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        return bool(value or globals_of(ctx).json)

    return click.option(
        "--json", "as_json", is_flag=True, callback=merged, help="Print JSON for scripts."
    )(f)


def format_option(choices: Sequence[str], default: str) -> Callable[[F], F]:
    """--format among `choices`, passed as `fmt`; `provgate --format X CMD` and `--json`
    (before or after the subcommand) count too."""

    def merged(ctx: click.Context, _param: click.Parameter, value: str | None) -> str:
        g = globals_of(ctx)
        chosen = value or g.format or ("json" if g.json and "json" in choices else None)
        if chosen is None:
            return default
        if chosen not in choices:
            raise UsageFailure(
                f"--format {chosen!r}: {ctx.info_name} offers {', '.join(choices)}", ctx=ctx
            )
        return chosen

    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        callback=merged,
        help=f"Output format: {', '.join(choices)} (default {default}).",
    )


class IsoDate(click.ParamType):
    """A calendar date, YYYY-MM-DD (passed on as that text). Anything else, `yesterday` or
    `2026-13-45`, is a usage error rather than a filter that silently matches nothing."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        import datetime as dt

        try:
            return dt.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            self.fail(f"{value!r} is not a date (YYYY-MM-DD)", param, ctx)


def get_app(ctx: click.Context) -> App:
    root = ctx.find_root()
    obj = root.ensure_object(dict)
    if "app" not in obj:
        obj["app"] = App(globals_of(ctx).workspace)
        root.call_on_close(obj["app"].close)
    app: App = obj["app"]
    return app


def on_terminal() -> bool:
    return sys.stderr.isatty()


EXAMPLES = """\b
Examples, by command group:
\b
  record a show          provgate init /shows/lh/.provgate
                         provgate scan /mnt/shows/lh
                         provgate watch /mnt/shows/lh --log-format json
\b
  look at what it knows  provgate inspect sh010/plate.1001.exr
                         provgate ls --origin ai-generated --since 2026-11-01
                         provgate history 'sh010/comp.[1001-1020].exr'
\b
  gate a delivery        provgate check /deliveries/lh_r3 --format html -o r3.html
                         provgate check cut.otio --media-root /mnt/shows/lh
\b
  approvals              provgate approve 'sh010/comp.[1001-1020].exr' --ref LEGAL-42 --by Dana
                         provgate revoke 3f2a9c1e --ref LEGAL-42 --by Dana --reason "recast"
                         provgate tag concept.png --origin ai-generated --tool "Midjourney v7"
\b
  declared uses          provgate declare --help;  provgate declarations list
\b
  reports and history    provgate report --format csv -o disclosure.csv
                         provgate log verify
\b
  store, review page     provgate store migrate --to postgresql://pg@db/lh
                         provgate user add dana --role approver;  provgate serve
\b
Global options (--workspace, --json, --format, -q) go before or after the command.
Exit codes: 0 ok / passes; 1 blocked (or a broken event log); 2 usage or operational
error (a scan in which a file could not be read or tagged); 130/143 interrupted by
SIGINT/SIGTERM after recording the work in hand; 141 output pipe closed.
Shell completion (bash): eval "$(_PROVGATE_COMPLETE=bash_source provgate)"
(zsh_source, fish_source for the other shells; see README).
"""


@click.group(
    cls=ProvgateGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXAMPLES,
)
@click.option(
    "--json",
    is_flag=True,
    expose_value=False,
    callback=_remember("json"),
    help="JSON output, for the commands that print listings or reports.",
)
@click.option(
    "--format",
    metavar="FORMAT",
    expose_value=False,
    callback=_remember("format"),
    help="Output format, for the commands that have several (see their --help).",
)
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
