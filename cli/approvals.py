"""`approve` and `revoke`: written approvals bound to content ids."""

from __future__ import annotations

import click

from provenance import api
from provenance.model import USE_CATEGORIES

from .main import IsoDate, cli, get_app, json_option
from .names import named_paths
from .render import echo, echo_json


@cli.command()
@click.argument("assets", nargs=-1, required=True)
@click.option("--ref", "reference", required=True, help="The studio's approval reference.")
@click.option("--by", "approver", required=True, help="Who approved it in writing.")
@click.option(
    "--use",
    type=click.Choice(USE_CATEGORIES),
    help="Approved use (default: the asset's tagged use category).",
)
@click.option("--consent", multiple=True, help="Consent reference (talent, voice...).")
@click.option("--expires", type=IsoDate(), help="Expiry date (the approval lapses after it).")
@click.option("--note", help="Free text.")
@click.option(
    "--declaration", help="The declared use (D-0001) this approval answers; it must cover ASSET."
)
@json_option
@click.pass_context
def approve(
    ctx: click.Context,
    assets: tuple[str, ...],
    reference: str,
    approver: str,
    use: str | None,
    consent: tuple[str, ...],
    expires: str | None,
    note: str | None,
    declaration: str | None,
    as_json: bool,
) -> None:
    """Record a written approval for ASSET (a path or a content-id prefix)."""
    app = get_app(ctx)
    results = api.approve(
        named_paths(assets, app.store),
        app.workspace.config,
        app.store,
        reference=reference,
        by=approver,
        use=use,
        consent=consent,
        expires=expires,
        note=note,
        declaration=declaration,
    )
    if as_json:
        echo_json(results)
        return
    for r in results:
        under = r["approval"]["declaration"]
        echo(
            f"approved {r['content_id'][:16]} ({reference}, {r['approval']['use']}"
            + (f", under {under})" if under else ")")
            + (f"; tag rewritten in {len(r['rewritten'])} file(s)" if r["rewritten"] else "")
        )


@cli.command()
@click.argument("assets", nargs=-1, required=True)
@click.option("--ref", "reference", required=True, help="The approval reference to revoke.")
@click.option("--by", "revoker", required=True, help="Who revokes it (recorded with the event).")
@click.option("--reason", required=True, help="Why, in a sentence (kept in the history).")
@json_option
@click.pass_context
def revoke(
    ctx: click.Context,
    assets: tuple[str, ...],
    reference: str,
    revoker: str,
    reason: str,
    as_json: bool,
) -> None:
    """Revoke the approval named by --ref."""
    app = get_app(ctx)
    results = api.revoke(
        named_paths(assets, app.store),
        app.workspace.config,
        app.store,
        reference=reference,
        by=revoker,
        reason=reason,
    )
    if as_json:
        echo_json(results)
        return
    for r in results:
        echo(
            f"revoked {reference} on {r['content_id'][:16]}"
            + (
                ""
                if r["signed"]
                else " (not signed: no approval signer here; it counts all the same)"
            )
        )
