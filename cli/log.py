"""`provgate log verify`: check the hash-chained event log; `log resign`: sign old approvals."""

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
    """Verify the event chain and the approval identity's signatures; report the first broken
    record and every unsigned approval (exit 1)."""
    app = get_app(ctx)
    count, broken, audit = api.verify_log(app.store, app.workspace.config)
    anchor = app.store.anchoring()
    if as_json:
        echo_json(
            {
                "verified": count,
                "ok": broken is None and not audit.unsigned,
                "first_bad": None
                if broken is None
                else {"seq": broken.seq, "reason": broken.reason},
                "unsigned_approvals": [{"seq": s, "reason": r} for s, r in audit.unsigned],
                "notes": [{"seq": s, "reason": r} for s, r in audit.notes],
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
    if not as_json:
        for seq, reason in audit.unsigned:
            echo(f"UNSIGNED event {seq}: {reason}")
        for seq, reason in audit.notes:
            echo(f"note: event {seq}: {reason}")
        if audit.unsigned:
            echo(
                f"event log NOT TRUSTED: {len(audit.unsigned)} approval(s) not signed by an"
                " identity trusted for approvals"
            )
    if broken is not None or audit.unsigned:
        ctx.exit(EXIT_BLOCKED)


@log.command()
@click.option("--yes", is_flag=True, help="Sign them (without it, only list them).")
@json_option
@click.pass_context
def resign(ctx: click.Context, yes: bool, as_json: bool) -> None:
    """Sign, with the approval identity, the approvals recorded before approvals were signed.

    Lists each approval whose event lacks the approval identity's signature (and would count
    otherwise); check every one is genuine — one forged with the log key looks the same —
    then run again with --yes."""
    app = get_app(ctx)
    found = api.unsigned_approvals(app.store, app.workspace.config)
    signed = api.resign(app.store, app.workspace.config, found) if yes and found else 0
    if as_json:
        echo_json({"approvals": [a.to_json() for a in found], "signed": signed})
        return
    for a in found:
        echo(
            f"{'signed' if signed else 'unsigned'}  {a.content_id[:16]}  {a.reference} by "
            f"{a.approver} for {a.use_category}, {a.approved_at[:10]} (event {a.unsigned})"
        )
    if not found:
        echo("every approval in force is signed by the approval identity")
    elif not signed:
        echo(f"{len(found)} approval(s) not signed; check them, then run again with --yes")
