"""`declare`, `declarations ...` and `digest`: the notice to the studio of intended uses of
generative AI, its state, and the clearance contact's digest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from provenance import api
from provenance.atomic import write_bytes
from provenance.globs import glob_problem
from provenance.history import declarations as decl
from provenance.history import digest as digests
from provenance.model import USE_CATEGORIES
from provenance.names import one_line

from .main import cli, get_app, globals_of, json_option
from .render import echo, echo_json, shown, table

F = TypeVar("F", bound=Callable[..., Any])


def _describe(d: decl.Declaration, policy: Any) -> list[str]:
    """The declaration in lines for a terminal: each one line, names as `ls` shows them."""
    lines = [
        f"{d.reference} ({d.state}): {d.tool_label} for {d.use_category}: {d.purpose}",
        f"  scope       {'; '.join(map(str, d.scope))}",
        f"  declared    by {d.declared_by} on {d.declared_at[:10]}"
        + (f"; involves {', '.join(d.involves)}" if d.involves else ""),
    ]
    if d.state_by != d.declared_by or d.state_reference or d.state_note:
        lines.append(
            f"  {d.state:<11} by {d.state_by} on {d.state_at[:10]}"
            + (f" ({d.state_reference})" if d.state_reference else "")
            + (f": {d.state_note}" if d.state_note else "")
        )
    if d.note:
        lines.append(f"  note        {d.note}")
    problem = policy.tool_problem(d.tool_label)
    if problem:
        lines.append(f"  FLAG        {problem}")
    return [one_line(line) for line in lines]


def _checked_globs(values: tuple[str, ...]) -> tuple[str, ...]:
    for value in values:
        problem = glob_problem(value)
        if problem:
            raise click.BadParameter(problem)
    return values


@cli.command()
@click.option("--tool", required=True, help="The generative tool or service (e.g. 'Firefly').")
@click.option("--tool-version", help="Its version, model or deployment.")
@click.option("--purpose", required=True, help="What it will be used for.")
@click.option("--use", required=True, type=click.Choice(USE_CATEGORIES), help="Use category.")
@click.option("--shot", "shots", multiple=True, help="A shot it applies to (repeatable).")
@click.option("--sequence", "sequences", multiple=True, help="A sequence it applies to.")
@click.option(
    "--folder",
    "folders",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A folder it covers.",
)
@click.option(
    "--glob",
    "globs",
    multiple=True,
    callback=lambda _ctx, _param, values: _checked_globs(values),
    help="A glob on the path (or, without /, name).",
)
@click.option("--by", "declared_by", required=True, help="Who declares it.")
@click.option("--talent", is_flag=True, help="Talent likeness, voice or performance involved.")
@click.option("--personal-data", is_flag=True, help="Personal data involved.")
@click.option("--third-party", is_flag=True, help="Third-party material (IP, public figures).")
@click.option("--unsure", is_flag=True, help="Escalate: ask the studio before going ahead.")
@click.option("--note", help="Free text.")
@json_option
@click.pass_context
def declare(
    ctx: click.Context,
    shots: tuple[str, ...],
    sequences: tuple[str, ...],
    folders: tuple[Path, ...],
    globs: tuple[str, ...],
    as_json: bool,
    **fields: Any,
) -> None:
    """Declare an intended use of generative AI to the studio, before the material exists.
    Prints its reference and state (noted, needs-approval or escalated)."""
    app = get_app(ctx)
    scope = [
        decl.ScopeEntry.make(kind, str(value))
        for kind, values in (
            ("shot", shots),
            ("sequence", sequences),
            ("folder", folders),
            ("glob", globs),
        )
        for value in values
    ]
    fields["by"] = fields.pop("declared_by")
    found = api.declare(app.store, app.workspace.config, scope=scope, **fields)
    policy = app.workspace.config.policy
    if as_json:
        echo_json(found.to_json(policy))
        return
    echo(f"declared {found.reference} ({found.state})")
    for line in _describe(found, policy)[1:]:
        echo(line)


@cli.group()
def declarations() -> None:
    """Declared uses: list, show, escalate, approve, refuse, withdraw."""


@declarations.command(name="list")
@click.option("--state", type=click.Choice(decl.STATES), help="Only declarations in this state.")
@json_option
@click.pass_context
def list_command(ctx: click.Context, state: str | None, as_json: bool) -> None:
    """Every declaration with its state and how many AI assets were found under it."""
    app = get_app(ctx)
    config = app.workspace.config
    report = api.disclosure(app.store, config)
    sections = [s for s in report["declarations"] if state in (None, s["declaration"]["state"])]
    if as_json:
        echo_json([{**s["declaration"], "found": len(s["found"])} for s in sections])
        return
    echo(
        table(
            [
                (
                    d["reference"],
                    d["state"],
                    d["tool"] + (f" {d['tool_version']}" if d["tool_version"] else ""),
                    d["use"],
                    "; ".join(f"{x['kind']} {x['value']}" for x in d["scope"]),
                    len(s["found"]),
                    "tool not cleared" if d["tool_problem"] else "",
                )
                for s in sections
                for d in [s["declaration"]]
            ],
            ["ref", "state", "tool", "use", "scope", "found", "flag"],
        )
    )


@declarations.command()
@click.argument("reference")
@json_option
@click.pass_context
def show(ctx: click.Context, reference: str, as_json: bool) -> None:
    """One declaration: what was declared, its history, and what was found under it."""
    app = get_app(ctx)
    config = app.workspace.config
    found = decl.get_declaration(app.store, reference)
    report = api.disclosure(app.store, config)
    section = next(
        s for s in report["declarations"] if s["declaration"]["reference"] == found.reference
    )
    events = decl.declaration_history(app.store, found.reference)
    if as_json:
        echo_json({**section, "history": events})
        return
    for line in _describe(found, config.policy):
        echo(line)
    echo(f"  found       {len(section['found'])} AI asset(s)")
    for r in section["found"]:
        approval = r["approval"]["reference"] if r["approval"] else r["status"]
        tool = one_line(r["tool"] or "(tool not recorded)")
        echo(f"    {shown(r['paths'][0])}  {tool}  {one_line(approval)}")


def _state_command(action: str, *, ref_help: str | None, note_name: str, required: bool) -> Any:
    """One of escalate / approve / refuse / withdraw: the same shape, one library call."""

    def command(
        ctx: click.Context,
        reference: str,
        by: str,
        note: str | None,
        as_json: bool,
        written: str | None = None,
    ) -> None:
        app = get_app(ctx)
        changed = decl.change_state(
            app.store, reference, action, by=by, written_reference=written, note=note
        )
        if as_json:
            echo_json(changed.to_json(app.workspace.config.policy))
        else:
            echo(f"{changed.reference} is now {changed.state}")

    command.__doc__ = {
        "escalate": "Escalate a declaration: the declarer is unsure and asks the studio.",
        "approve": "Record the studio's written approval of the intended use (the assets "
        "still need `provgate approve ASSET --declaration REF`).",
        "refuse": "Record that the studio refused the intended use.",
        "withdraw": "Withdraw a declaration: the use is no longer intended.",
    }[action]
    decorated: Any = command
    decorated = click.pass_context(
        json_option(
            click.option(f"--{note_name}", "note", required=required, help="Why, or the question.")(
                click.option("--by", required=True, help="Who makes the change.")(decorated)
            )
        )
    )
    if ref_help:
        decorated = click.option("--ref", "written", required=True, help=ref_help)(decorated)
    decorated = click.argument("reference")(decorated)
    declarations.command(name=action)(decorated)
    return decorated


_state_command("escalate", ref_help=None, note_name="note", required=False)
_state_command(
    "approve", ref_help="The studio's written approval reference.", note_name="note", required=False
)
_state_command("refuse", ref_help=None, note_name="reason", required=True)
_state_command("withdraw", ref_help=None, note_name="note", required=False)


@cli.command()
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write it here."
)
@click.option("--send", is_flag=True, help="Mail it through the configured [digest] command.")
@click.option("--preview", is_flag=True, help="Show it without marking it delivered.")
@json_option
@click.pass_context
def digest(
    ctx: click.Context, output: Path | None, send: bool, preview: bool, as_json: bool
) -> None:
    """The clearance contact's digest of new declarations, escalations and undeclared AI
    finds since the last digest (for a cron job or systemd timer): an HTML page on stdout,
    in a file (-o), or mailed (--send) by the site's sendmail-compatible command."""
    app = get_app(ctx)
    config = app.workspace.config
    found = digests.build_digest(app.store, config)
    if found.empty and not preview:
        if globals_of(ctx).quiet:
            return
        since = found.since[:19].replace("T", " ") + " UTC" if found.since else "ever"
        echo(f"digest: nothing new since {since}; nothing written or sent", err=True)
        return
    page = digests.render_digest_html(found)
    delivered: list[str] = []
    if send and not preview:
        digests.send_digest(digests.digest_message(found, config.digest), config.digest)
        delivered += [f"mail:{to}" for to in config.digest.to]
    if output is not None:
        write_bytes(output, page.encode("utf-8"))
        delivered.append(f"file:{output}")
    if as_json:
        if output is None and not send:
            delivered.append("stdout")
        echo_json({**found.to_json(), "delivered_to": delivered})
    elif output is None and not send:
        echo(page, nl=False)
        delivered.append("stdout")
    if not preview:
        digests.mark_delivered(app.store, found, delivered)
    c = found.counts
    if (send or output is not None) and not globals_of(ctx).quiet:
        echo(
            f"digest: {c['declared']} new declaration(s), {c['escalated']} escalation(s),"
            f" {c['undeclared']} undeclared AI find(s)"
            + (f"; mailed to {', '.join(config.digest.to)}" if send and not preview else "")
            + (f"; written to {output}" if output is not None else "")
        )
