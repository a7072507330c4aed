"""`provgate store migrate`: move a workspace's history from SQLite to PostgreSQL."""

from __future__ import annotations

import click

from provenance.stores import Store, is_postgres_url
from provenance.stores.copy import copy_store, count_rows
from provenance.workspace import CONFIG_NAME

from .main import UsageFailure, cli, get_app, globals_of, json_option
from .render import echo, echo_json, progress_bar, shows_progress


@cli.group(name="store")
def store_group() -> None:
    """The store that keeps the history (SQLite file or PostgreSQL database)."""


@store_group.command()
@click.option(
    "--to",
    "target",
    required=True,
    metavar="URL",
    help="postgresql://user@host:port/db of an empty database (the password comes from "
    "PGPASSWORD or ~/.pgpass).",
)
@json_option
@click.pass_context
def migrate(ctx: click.Context, target: str, as_json: bool) -> None:
    """Copy this workspace's store, events and hashes intact, into an empty PostgreSQL
    database; then name it in provgate.toml (store = "URL") to use it."""
    if not is_postgres_url(target):
        raise UsageFailure("--to must be a postgresql:// URL")
    app = get_app(ctx)
    source = app.store
    quiet = globals_of(ctx).quiet
    total = count_rows(source) if shows_progress(quiet) else None
    with (
        Store(target, host=source.host, facility=source.facility) as dest,
        progress_bar("migrating", quiet=quiet, total=total, unit="rows") as advance,
    ):
        result = copy_store(source, dest, progress=advance)
    if as_json:
        echo_json({"to": target, "rows": result.rows, "events_verified": result.events_verified})
        return
    copied = ", ".join(f"{n} {table}" for table, n in result.rows.items())
    echo(f"copied {copied}; event log verified ({result.events_verified} events)")
    echo(f'to use it, set  store = "{target}"  at the top of {app.workspace.root / CONFIG_NAME}')
