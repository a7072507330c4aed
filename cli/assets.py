"""`inspect`, `scan`, `tag`, `history`, `ls`: looking at assets and recording them."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import click

from provenance import api
from provenance.model import STATUSES, USE_CATEGORIES
from provenance.names import one_line
from provenance.pipeline.shard import Shard

from .main import (
    EXIT_ERROR,
    IsoDate,
    UsageFailure,
    cli,
    format_option,
    get_app,
    globals_of,
    json_option,
)
from .names import named_paths, unshown
from .render import echo, echo_json, progress_bar, shown, table
from .signals import stop_on_signals

ORIGINS = ("ai-generated", "ai-modified", "non-ai", "unknown")


def _evidence_lines(evidence: list[dict[str, Any]]) -> list[str]:
    lines = []
    for ev in evidence:
        flag = {"ai-generated": "AI", "ai-modified": "AI", "non-ai": "ok", "weak": "? "}.get(
            ev["signal"], "  "
        )
        valid = f" [{ev['validation']}]" if ev.get("validation") else ""
        lines.append(f"  {flag:2} {ev['source']:<13} {one_line(ev['detail'])}{valid}")
    return lines


@cli.command()
@click.argument("file")
@json_option
@click.pass_context
def inspect(ctx: click.Context, file: str, as_json: bool) -> None:
    """Everything known about one file: content id, origin, evidence, C2PA, status. FILE may
    be a frame sequence as `ls` shows it (every frame is shown; --json: a list)."""
    app = get_app(ctx)
    paths = named_paths([file])
    infos = [api.inspect_file(Path(p), app.workspace.config, app.store) for p in paths]
    if as_json:
        echo_json(infos[0] if len(paths) == 1 and paths[0] in (file, unshown(file)) else infos)
        return
    for info in infos:
        _show_info(info)


def _show_info(info: dict[str, Any]) -> None:
    echo(shown(info["path"]))
    echo(f"  content id  {info['content_id']}")
    echo(f"  media type  {info['media_type']}   {info['size']} bytes")
    echo(f"  origin      {info['origin']}" + (f"  (tool: {info['tool']})" if info["tool"] else ""))
    if info["status"]:
        echo(
            f"  status      {info['status']}"
            + (f", use {info['use']}" if info["use"] else "")
            + (f" ({info['status_reason']})" if info["status_reason"] else "")
        )
    if info["c2pa"]:
        c = info["c2pa"]
        fails = f" ({', '.join(c['failures'])})" if c["failures"] else ""
        echo(
            f"  C2PA        {len(c['manifests'])} manifest(s), {c['validation']}{fails},"
            f" signed by {c['signer'] or 'unknown'}"
        )
    echo("  evidence" + ("" if info["evidence"] else "    none"))
    for line in _evidence_lines(info["evidence"]):
        echo(line)
    for a in info["approvals"]:
        state = a["state"]
        echo(f"  approval    {a['reference']} by {a['approver']} for {a['use']} ({state})")


def _shard(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Shard | None:
    try:
        return Shard.parse(value) if value else None
    except ValueError as exc:
        raise UsageFailure(f"--shard: {exc}") from None


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--no-tag", is_flag=True, help="Record only; do not write tags this time.")
@click.option(
    "--shard",
    metavar="K/N",
    callback=_shard,
    help="Index only share K of N of the tree (run N machines on the same PATHS and store).",
)
@json_option
@click.pass_context
def scan(
    ctx: click.Context, paths: tuple[Path, ...], no_tag: bool, shard: Shard | None, as_json: bool
) -> None:
    """Index, classify and tag every file under PATHS. Unchanged files are skipped."""
    app = get_app(ctx)
    quiet = globals_of(ctx).quiet

    def show(change: Any) -> None:
        if as_json and change.kind != "touched":
            echo_json(change.to_json(), indent=None)

    with stop_on_signals() as stop, progress_bar("scanning", quiet=quiet) as advance:
        summary = api.scan(
            list(paths),
            app.workspace.config,
            app.store,
            tag=not no_tag,
            on_change=show,
            progress=advance,
            shard=shard,
            stop=stop,
        )
    for path, reason in summary.failures:
        echo(f"provgate: {shown(path)}: {reason}", err=True)
    if as_json:
        echo_json(summary.to_json(), indent=None)
    elif not quiet:
        echo(summary.line())
    if summary.interrupted:
        echo(
            f"provgate: interrupted ({stop.signum.name if stop.signum else 'signal'}): every "
            "file read so far is recorded, with any tag written; deletions were not decided. "
            "Run the scan again to finish.",
            err=True,
        )
        ctx.exit(stop.exit_code)
    if summary.errors:
        ctx.exit(EXIT_ERROR)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--origin",
    required=True,
    type=click.Choice(["ai-generated", "ai-modified", "non-ai"]),
    help="What a person states the file is (non-ai writes IPTC digitalCreation).",
)
@click.option("--tool", help="The tool that made or changed it (e.g. 'Midjourney v7').")
@click.option("--use", type=click.Choice(USE_CATEGORIES), help="What the AI material is for.")
@click.option("--note", help="Free text kept with the tag.")
@json_option
@click.pass_context
def tag(
    ctx: click.Context,
    files: tuple[Path, ...],
    origin: str,
    tool: str | None,
    use: str | None,
    note: str | None,
    as_json: bool,
) -> None:
    """Record provenance by hand and write it into the files as a signed tag."""
    app = get_app(ctx)
    for file in map(Path, named_paths(map(str, files))):
        result = api.tag_by_hand(
            file, app.workspace.config, app.store, origin=origin, tool=tool, use=use, note=note
        )
        if as_json:
            echo_json(result, indent=None)
        else:
            echo(
                f"{shown(file)}: tagged {origin}"
                + (f" ({shown(result['written'])})" if result.get("written") else "")
            )


@cli.command()
@click.argument("asset")
@json_option
@click.pass_context
def history(ctx: click.Context, asset: str, as_json: bool) -> None:
    """The asset's full event history, across renames, moves and copies (ASSET: a path, a
    content-id prefix, or a frame sequence as `ls` shows it: every frame's, in order)."""
    app = get_app(ctx)
    found = {  # a batch event's files share its seq: each is known by its leaf
        (ev["seq"], ev.get("leaf", -1)): ev
        for a in named_paths([asset], app.store)
        for ev in api.history(a, app.store)
    }
    events = [found[key] for key in sorted(found)]
    if as_json:
        echo_json(events)
        return
    for ev in events:
        detail = ", ".join(f"{k}={v}" for k, v in sorted(ev["detail"].items()))
        where = ev.get("facility") or ev.get("host") or "-"
        echo(
            f"{ev['at'][:19]}  {ev['kind']:<9} {where}  {shown(ev['path'] or '-')}"
            f"  {(ev['content_id'] or '')[:12]}  {detail}"
        )


@cli.command(name="ls")
@click.option("--origin", type=click.Choice(ORIGINS), help="Only files of this origin.")
@click.option("--status", type=click.Choice(STATUSES), help="Only AI files with this status.")
@click.option("--use", type=click.Choice(USE_CATEGORIES), help="Only this use category.")
@click.option("--tool", help="Tool name (substring, case-insensitive).")
@click.option("--under", type=click.Path(path_type=Path), help="Only files under this folder.")
@click.option("--since", type=IsoDate(), help="Only files first seen on or after this date.")
@click.option("--facility", help="Only files recorded at this facility.")
@format_option(["table", "json", "csv"], "table")
@click.option("--all", "include_gone", is_flag=True, help="Include files that are gone.")
@click.option(
    "--undeclared", is_flag=True, help="Only AI files that no declared use covers (tool, scope)."
)
@json_option
@click.pass_context
def ls_command(
    ctx: click.Context,
    origin: str | None,
    status: str | None,
    use: str | None,
    tool: str | None,
    under: Path | None,
    since: str | None,
    facility: str | None,
    fmt: str | None,
    include_gone: bool,
    undeclared: bool,
    as_json: bool,
) -> None:
    """Query recorded files and their assets."""
    app = get_app(ctx)
    listing = api.list_files
    if undeclared:
        listing = partial(api.undeclared_files, config=app.workspace.config)
    rows = listing(
        app.store,
        origin=origin,
        status=status,
        use=use,
        tool=tool,
        under=under,
        since=since,
        include_gone=include_gone,
        facility=facility,
        config=app.workspace.config,
    )
    fmt = "json" if as_json else fmt
    if fmt == "json":
        echo_json(rows)
    elif fmt == "csv":
        echo(api.rows_to_csv(rows), nl=False)
    else:
        grouped = api.group_sequences(rows)
        echo(
            table(
                [
                    (
                        r["path"],
                        r["origin"],
                        r["status"] or "",
                        r["use_category"] or "",
                        r["tool"] or "",
                        r["content_id"][:12],
                        r["facility"],
                    )
                    for r in grouped
                ],
                ["path", "origin", "status", "use", "tool", "content", "facility"],
            )
        )
