"""`provgate watch`: the watcher service, until SIGINT or SIGTERM."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import click

from provenance.names import printable_lines

from .main import EXIT_ERROR, cli, get_app, globals_of
from .render import Progress, dumps_json, progress_bar, shown


class _JsonFormatter(logging.Formatter):
    """One JSON object per line and event: ISO-8601 UTC time, level, event kind, then the
    event's own fields (path, content_id, origin...); free text only for what has none."""

    def format(self, record: logging.LogRecord) -> str:
        at = dt.datetime.fromtimestamp(record.created, dt.UTC)
        out: dict[str, Any] = {
            "time": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "event": getattr(record, "event", None) or "log",
        }
        fields = getattr(record, "fields", None)
        # an event without fields (`stopped`) is only its kind: no `message` repeating it
        out.update({"message": record.getMessage()} if fields is None else fields)
        return dumps_json(out, indent=None)


class _TextFormatter(logging.Formatter):
    """ISO-8601 UTC time, level, the line; names escaped (never raw control characters)."""

    def format(self, record: logging.LogRecord) -> str:
        at = dt.datetime.fromtimestamp(record.created, dt.UTC)
        stamp = at.isoformat(timespec="seconds").replace("+00:00", "Z")
        return printable_lines(f"{stamp} {record.levelname} {record.getMessage()}")


class _UnderProgress(logging.StreamHandler):  # type: ignore[type-arg]
    """Log lines wipe the progress bar first, which redraws itself on its next update."""

    bar: Progress | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.bar is not None:
            self.bar.clear()
        super().emit(record)


def _setup_logging(fmt: str) -> tuple[logging.Logger, _UnderProgress]:
    handler = _UnderProgress(sys.stderr)
    handler.setFormatter(_JsonFormatter() if fmt == "json" else _TextFormatter())
    logger = logging.getLogger("provgate")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, handler


@cli.command()
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False, exists=True)
)
@click.option(
    "--poll",
    type=click.FloatRange(min=0.1),
    help="Poll every SECONDS instead of native events (automatic on NFS/SMB/sshfs mounts).",
)
@click.option(
    "--settle",
    type=click.FloatRange(min=0),
    help="Seconds a file must hold still before it is read (default from provgate.toml, 2).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one object a line (time, level, event, path, content_id...) for log shippers.",
)
@click.option(
    "--once",
    is_flag=True,
    help="Only the first pass (reconcile PATHS with the store), then exit: 2 if any file "
    "could not be read or tagged.",
)
@click.pass_context
def watch(
    ctx: click.Context,
    paths: tuple[Path, ...],
    poll: float | None,
    settle: float | None,
    log_format: str,
    once: bool,
) -> None:
    """Watch PATHS: record every new or changed asset and tag AI material as temporary.
    SIGINT or SIGTERM finish the work in hand, then exit 0."""
    from watchers.service import WatchOptions, WatchService, describe

    logger, handler = _setup_logging(log_format)
    app = get_app(ctx)
    config = app.workspace.config
    options = WatchOptions(settle=config.settle_seconds if settle is None else settle, poll=poll)

    def show(change: Any) -> None:
        fields = describe(change)
        text = f"{fields['change']:<8} {shown(fields['path'])}" + "".join(
            f" {k}={shown(str(v))}" for k, v in fields.items() if k not in ("change", "path")
        )
        logger.info(text, extra={"fields": fields, "event": fields["change"]})

    service = WatchService(list(paths), config, app.store, options, on_change=show)

    def stop(signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        logger.info(
            "signal %s: finishing the work in hand",
            name,
            extra={"event": "stopping", "fields": {"signal": name}},
        )
        service.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logger.info(
        "watching %s (settle %ss%s)",
        ", ".join(map(str, paths)),
        options.settle,
        f", polling every {poll}s" if poll else "",
        extra={
            "event": "watching",
            "fields": {"paths": [str(p) for p in paths], "settle": options.settle, "poll": poll},
        },
    )
    with progress_bar("reconciling", quiet=globals_of(ctx).quiet) as advance:
        if isinstance(advance, Progress):
            service.progress, handler.bar = advance, advance
        try:
            service.run(once=once)
        finally:
            handler.bar = None
    logger.info("stopped", extra={"event": "stopped", "fields": {}})
    if once and service.first_pass is not None and service.first_pass.errors:
        ctx.exit(EXIT_ERROR)
    with contextlib.suppress(Exception):
        sys.stderr.flush()
