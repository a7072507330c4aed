"""`provgate log verify`: check the hash-chained event log."""

from __future__ import annotations

import click

from provenance import api

from .main import EXIT_BLOCKED, cli, get_app, json_option
from .render import echo, echo_json


@cli.group()
def log() -> None:
    """The event log."""


@log.command()
@json_option
@click.pass_context
def verify(ctx: click.Context, as_json: bool) -> None:
    """Verify the event chain; report the first broken record (exit 1)."""
    app = get_app(ctx)
    count, broken = api.verify_log(app.store)
    anchor = app.store.anchoring()
    if as_json:
        echo_json(
            {
                "verified": count,
                "ok": broken is None,
                "first_bad": None
                if broken is None
                else {"seq": broken.seq, "leaf": broken.leaf, "reason": broken.reason},
                **anchor,
            }
        )
    elif broken is None:
        echo(f"event log intact: {count} events verified")
        if anchor["head"] > anchor["anchored"]:
            echo(
                f"note: events {anchor['anchored'] + 1}..{anchor['head']} are not yet covered by "
                "a checkpoint signed by a key trusted here (no approval among them counts)"
            )
    else:
        where = f"at event {broken.seq}" if broken.seq is not None else "(no single record)"
        echo(f"event log BROKEN {where}: {broken.reason} ({count} events before it verified)")
    if broken is not None:
        ctx.exit(EXIT_BLOCKED)
