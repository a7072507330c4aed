"""`provgate watch`: the watcher service, until SIGINT or SIGTERM."""

from __future__ import annotations

import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import click

from .main import cli, get_app


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "at": self.formatTime(record),
            "level": record.levelname.lower(),
            "message": record.getMessage(),
        }
        out.update(getattr(record, "fields", {}))
        return json.dumps(out, ensure_ascii=False)


def _setup_logging(fmt: str) -> logging.Logger:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    )
    logger = logging.getLogger("provgate")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


@cli.command()
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False, exists=True)
)
@click.option(
    "--poll",
    type=float,
    help="Poll every SECONDS instead of native events (automatic on NFS/SMB/sshfs mounts).",
)
@click.option(
    "--settle",
    type=float,
    help="Seconds a file must hold still before it is read (default from provgate.toml, 2).",
)
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def watch(
    ctx: click.Context,
    paths: tuple[Path, ...],
    poll: float | None,
    settle: float | None,
    log_format: str,
) -> None:
    """Watch PATHS: record every new or changed asset and tag AI material as temporary."""
    from watchers.service import WatchOptions, WatchService, describe

    logger = _setup_logging(log_format)
    app = get_app(ctx)
    config = app.workspace.config
    options = WatchOptions(settle=config.settle_seconds if settle is None else settle, poll=poll)

    def show(change: Any) -> None:
        fields = describe(change)
        text = f"{fields['change']:<8} {fields['path']}" + "".join(
            f" {k}={v}" for k, v in fields.items() if k not in ("change", "path")
        )
        logger.info(text, extra={"fields": fields})

    service = WatchService(list(paths), config, app.store, options, on_change=show)

    def stop(signum: int, _frame: Any) -> None:
        logger.info("signal %s: finishing the work in hand", signal.Signals(signum).name)
        service.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logger.info(
        "watching %s (settle %ss%s)",
        ", ".join(map(str, paths)),
        options.settle,
        f", polling every {poll}s" if poll else "",
    )
    service.run()
    logger.info("stopped")
