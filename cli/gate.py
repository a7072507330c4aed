"""`check` (the delivery gate) and `report` (the disclosure report)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from provenance import api
from provenance.gate.decision import DeliveryGate
from provenance.gate.reports import RENDERERS

from .main import EXIT_BLOCKED, cli, format_option, get_app, globals_of, json_option
from .names import named_paths
from .render import dumps_json, echo, progress_bar


@cli.command()
@click.argument("packages", nargs=-1, required=True)
@format_option(list(RENDERERS), "text")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the report here (the text summary still goes to the terminal).",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Also block unknown-origin assets and manifests that fail validation.",
)
@json_option
@click.option(
    "--media-root",
    "media_roots",
    multiple=True,
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Where a timeline's media lives on this storage (repeatable).",
)
@click.option(
    "--map",
    "path_maps",
    multiple=True,
    metavar="FOREIGN=LOCAL",
    help="Map a path prefix as the timeline wrote it to a folder here (repeatable).",
)
@click.option(
    "--handles",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Frames checked beyond each end of a clip's source range (frame sequences).",
)
@click.pass_context
def check(
    ctx: click.Context,
    packages: tuple[str, ...],
    fmt: str,
    output: Path | None,
    strict: bool,
    as_json: bool,
    media_roots: tuple[Path, ...],
    path_maps: tuple[str, ...],
    handles: int,
) -> None:
    """The delivery gate: exit 0 when PACKAGE passes, 1 when it holds AI material without
    written approval (or anything unreadable). PACKAGE: a folder, file, .zip/.tar(.gz), an
    IMF package (a folder with ASSETMAP.xml), a timeline (.otio/.otioz/.otiod, EDL, AAF,
    FCP 7 XML, FCPXML: the media of its clips, linked under --media-root and --map), or -
    for paths on stdin. A frame sequence as `ls` names it (`shot.[1001-1020].exr`,
    `shot.####.exr`) or a name as provgate printed it (escaped) is checked too: every
    frame of it on disk."""
    app = get_app(ctx)
    gate = DeliveryGate(app.workspace.config, app.store)
    links = api.timeline_options(media_roots, path_maps, handles)
    with progress_bar("checking", quiet=globals_of(ctx).quiet) as advance:
        report = gate.check(
            named_paths(packages), strict=strict, stdin=sys.stdin, progress=advance, timelines=links
        )
    fmt = "json" if as_json else fmt
    text = RENDERERS[fmt](report)
    if output is not None:
        output.write_text(text, "utf-8")
        echo(RENDERERS["text"](report).splitlines()[-1])  # the one-line verdict
    else:
        echo(text, nl=False)
    if report.verdict != "pass":
        ctx.exit(EXIT_BLOCKED)


@cli.command()
@format_option(["html", "csv", "json"], "html")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the report to this file instead of standard output.",
)
@click.option("--facility", help="Only AI assets that live at this facility.")
@json_option
@click.pass_context
def report(
    ctx: click.Context, fmt: str, output: Path | None, facility: str | None, as_json: bool
) -> None:
    """The disclosure report for the studio contact: every AI use, tool, category, status,
    approval, and the facilities where it lives."""
    fmt = "json" if as_json else fmt  # `--json` after the command, as before it
    app = get_app(ctx)
    disclosure = api.disclosure(app.store, app.workspace.config, facility=facility)
    rows = disclosure["assets"]
    if fmt == "json":
        text = dumps_json(rows) + "\n"  # names that are not UTF-8 as \udcNN, still JSON
    elif fmt == "csv":
        flat = [
            {
                **r,
                "approval": (r["approval"] or {}).get("reference"),
                "approver": (r["approval"] or {}).get("approver"),
            }
            for r in rows
        ]
        text = api.rows_to_csv(flat)
    else:
        from provenance.history.disclosure import render_disclosure_html

        text = render_disclosure_html(rows, disclosure["declarations"])
    if output is not None:
        output.write_text(text, "utf-8")
    else:
        echo(text, nl=False)
