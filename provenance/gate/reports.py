"""Rendering a check report: text for people, JSON per SPEC §5, JUnit XML for CI, and a
self-contained HTML page for the clearance contact."""

from __future__ import annotations

import base64
import html
import io
import os
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

from provenance.gate.decision import AssetVerdict, CheckReport
from provenance.gate.timelines import TimelineClip, TimelineView
from provenance.names import dumps_json, one_line, shown
from provenance.pipeline.phash import PHASH_MEDIA
from provenance.sequences import FrameGroup, group_frames, typical_of

_THUMB_MAX_BYTES = 40 << 20


def render_json(report: CheckReport) -> str:
    return dumps_json(report.to_json()) + "\n"


def render_text(report: CheckReport) -> str:
    """Blocked assets first, each with its reason and the command that would clear it."""
    s = report.summary
    lines = []
    blocked = [a for a in report.assets if a.decision == "block"]
    # Names and the messages quoting them are escaped: a newline in a name cannot forge a line.
    # A frame sequence is one row: the reasons most of its frames share, then any frame that
    # differs.
    for group in group_frames(blocked, lambda a: a.path):
        a, odd = _typical(group.items)
        count = f"  ({len(group.items)} frames)" if group.is_sequence else ""
        lines.append(f"BLOCK  {shown(group.label)}{count}")
        for reason in a.reasons:
            lines.append(f"       {one_line(reason)}")
        clear = _clear_all(group, a) if group.is_sequence else a.clear_with
        if clear:
            lines.append(f"       to clear: {one_line(clear)}")
        lines.extend(_differing(odd))
    noted = [
        a
        for a in report.assets
        if a.decision == "pass"
        and (a.origin in ("ai-generated", "ai-modified") or any("C2PA" in r for r in a.reasons))
    ]
    for group in group_frames(noted, lambda a: a.path):
        a, odd = _typical(group.items)
        count = f" ({len(group.items)} frames)" if group.is_sequence else ""
        lines.append(f"pass   {shown(group.label)}{count}: {one_line('; '.join(a.reasons))}")
        lines.extend(_differing(odd))
    for view in report.timelines:
        lines.extend(one_line(line) for line in _timeline_text(report, view))
    packages = [report.package] if isinstance(report.package, str) else report.package
    # the frames of a sequence checked as packages are named as one (`ls`'s label)
    package = ", ".join(shown(g.label) for g in group_frames(packages, str))
    lines.append(
        f"{'BLOCKED' if report.verdict == 'blocked' else 'PASS'}: {package} - {s['assets']} "
        f"assets, {s['blocked']} blocked, {s['ai']} AI ({s['approved']} approved), "
        f"{s['unknown']} unknown, {s['errors']} errors"
    )
    return "\n".join(lines) + "\n"


def _path(verdict: AssetVerdict) -> str:
    return verdict.path


def _typical(frames: list[AssetVerdict]) -> tuple[AssetVerdict, list[AssetVerdict]]:
    """The frame whose reasons most frames share, and the frames whose reasons differ."""
    return typical_of(frames, lambda f: tuple(f.reasons))


def _differing(frames: list[AssetVerdict]) -> list[str]:
    return [
        f"       differs: {shown(os.path.basename(f.path))}: {one_line('; '.join(f.reasons))}"
        for f in frames
    ]


def _clear_all(group: FrameGroup, typical: AssetVerdict) -> str | None:
    """One approve command for the frames it would clear, named as `ls` shows a sequence
    (each frame's approval is bound to its own bytes)."""
    clearable = [f for f in group.items if f.clear_with]
    named = group_frames(clearable, lambda a: a.path)
    where = typical.reading.path if typical.reading else None
    if not typical.clear_with or len(named) != 1 or where is None or not os.path.isabs(where):
        return typical.clear_with
    label = os.path.join(os.path.dirname(where), os.path.basename(named[0].label))
    words = typical.clear_with.split(" ")
    return " ".join([*words[:2], shlex.quote(shown(label)), *words[3:]])


def _clip_media(clip: TimelineClip) -> str:
    parts = []
    for ref in clip.references:
        link = ref.link
        if link.status == "linked":
            parts.append(f"{link.media or '-'} ({link.how})" if link.media else link.how)
        else:
            parts.append(link.reason or link.status)
    return "; ".join(parts) or "-"


def _timeline_text(report: CheckReport, view: TimelineView) -> list[str]:
    """The link table: per clip, record timecode, source, link, media, decision."""
    counts = {"linked": 0, "ambiguous": 0, "offline": 0}
    rows = []
    blocked = 0
    for c in view.clips:
        counts[c.link] += 1
        decision, reasons = report.clip_verdict(c)
        blocked += decision == "block"
        rows.append((c, decision, reasons))
    nested = f" (named by {view.parent})" if view.parent else ""
    out = [
        f"timeline {view.path}{nested} [{view.adapter}]: {len(view.clips)} clips, "
        f"{counts['linked']} linked, {counts['ambiguous']} ambiguous, {counts['offline']} offline, "
        f"{blocked} blocked",
        "  #    track     record in    source in    source out   link       clip / media",
    ]
    for c, decision, reasons in rows:
        shown = "BLOCK" if decision == "block" else "pass"
        out.append(
            f"  {c.index:03d}  {c.track[:8]:<8}  {c.record_in:<11}  {c.source_in:<11}  "
            f"{c.source_out:<11}  {c.link:<9}  {c.name}  {shown}"
        )
        out.append(f"       media: {_clip_media(c)}")
        for ref in c.references:
            for cand in ref.link.candidates:
                out.append(f"       candidate: {cand}")
            if ref.link.frames:
                out.append(f"       frames: {ref.link.frames}")
        if decision == "block" and c.link == "linked":  # offline reasons are the media line
            out.extend(f"       {r}" for r in reasons)
    return out


def render_junit(report: CheckReport) -> str:
    """One test case per asset; a blocked asset is a failure."""
    s = report.summary
    suite = ET.Element(
        "testsuite",
        {
            "name": "provgate check",
            "tests": str(s["assets"]),
            "failures": str(s["blocked"] - s["errors"]),
            "errors": str(s["errors"]),
            "timestamp": report.checked_at,
        },
    )
    for a in report.assets:
        # XML 1.0 cannot hold most control characters: names and messages are escaped.
        name = shown(a.path)
        reasons = [one_line(r) for r in a.reasons]
        case = ET.SubElement(suite, "testcase", {"classname": "provgate.delivery", "name": name})
        if a.decision == "block":
            kind = "error" if a.error else "failure"
            el = ET.SubElement(
                case, kind, {"message": (reasons or ["blocked"])[0], "type": a.origin}
            )
            el.text = "\n".join(reasons + ([f"to clear: {a.clear_with}"] if a.clear_with else []))
        elif reasons:
            ET.SubElement(case, "system-out").text = "\n".join(reasons)
    suites = ET.Element("testsuites")
    suites.append(suite)
    for view in report.timelines:
        suites.append(_timeline_suite(report, view))
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _timeline_suite(report: CheckReport, view: TimelineView) -> ET.Element:
    """One test case per clip of a timeline; a blocked clip is a failure."""
    verdicts = [(c, *report.clip_verdict(c)) for c in view.clips]
    suite = ET.Element(
        "testsuite",
        {
            "name": f"provgate timeline {view.path}",
            "tests": str(len(verdicts)),
            "failures": str(sum(d == "block" for _, d, _ in verdicts)),
            "errors": "0",
            "timestamp": report.checked_at,
        },
    )
    for c, decision, reasons in verdicts:
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": "provgate.timeline",
                "name": f"{c.index:03d} {c.name} [{c.track}] {c.record_in}",
            },
        )
        detail = [f"link: {c.link}", f"media: {_clip_media(c)}", *reasons]
        if decision == "block":
            el = ET.SubElement(case, "failure", {"message": (reasons or ["blocked"])[0]})
            el.text = "\n".join(detail)
        else:
            ET.SubElement(case, "system-out").text = "\n".join(detail)
    return suite


def _thumbnail(a: AssetVerdict) -> str | None:
    """A small inline JPEG for images that are cheap to decode (the HTML stays one file)."""
    r = a.reading
    if r is None or r.media_type not in PHASH_MEDIA or r.size > _THUMB_MAX_BYTES:
        return None
    from PIL import Image

    try:
        with Image.open(Path(r.path)) as img:
            img.draft("RGB", (160, 160))
            small = img.convert("RGB")
            small.thumbnail((160, 160))
            buf = io.BytesIO()
            small.save(buf, "JPEG", quality=70)
    except Exception:  # noqa: BLE001 - a thumbnail is a nicety; the verdict stands without it
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em}
.verdict{font-size:1.2em;font-weight:bold;padding:.4em .8em;display:inline-block}
.blocked{background:#fdd;color:#900} .pass{background:#dfd;color:#060}
table{border-collapse:collapse;width:100%} td,th{border-bottom:1px solid #ddd;padding:.4em;
text-align:left;vertical-align:top} tr.block td{background:#fff4f4} img{max-width:160px}
code{font-size:12px} ul{margin:0;padding-left:1.2em}
"""


def render_html(report: CheckReport, thumbnails: bool = True) -> str:
    """A self-contained page (no external resources) for the clearance contact."""
    s = report.summary

    def e(text: str) -> str:
        return html.escape(one_line(text))

    package = report.package if isinstance(report.package, str) else ", ".join(report.package)
    rows = []
    # Blocked first; a frame sequence is one row (its typical frame, then the ones that
    # differ), as in the text report.
    groups = [
        g
        for decision in ("block", "pass")
        for g in group_frames([a for a in report.assets if a.decision == decision], _path)
    ]
    for group in groups:
        a, odd = _typical(group.items)
        wanted = a.decision == "block" or a.origin in ("ai-generated", "ai-modified")
        thumb = _thumbnail(a) if thumbnails and wanted else None
        img = f'<img alt="" src="{thumb}">' if thumb else ""
        reasons = "".join(f"<li>{e(r)}</li>" for r in a.reasons)
        clear = _clear_all(group, a) if group.is_sequence else a.clear_with
        if clear:
            reasons += f"<li>to clear: <code>{e(clear)}</code></li>"
        reasons += "".join(f"<li>{e(line.strip())}</li>" for line in _differing(odd))
        evidence = "".join(
            f"<li>{e(ev.source)}: {e(ev.detail)}"
            + (f" [{e(ev.validation.value)}]" if ev.validation else "")
            + "</li>"
            for ev in (a.reading.evidence if a.reading else ())
        )
        cid = a.reading.content_id[:16] if a.reading else ""
        if group.is_sequence:
            cid = f"{len(group.items)} frames"
        rows.append(
            f'<tr class="{a.decision}"><td>{img}</td><td><b>{e(shown(group.label))}</b>'
            f"<br><code>{cid}"
            f"</code></td><td>{e(a.decision.upper())}</td><td>{e(a.origin)}</td>"
            f"<td><ul>{reasons}</ul></td><td><ul>{evidence}</ul></td></tr>"
        )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>provgate check: {e(package)}</title><style>{_CSS}</style></head>
<body><h1>Delivery check: {e(package)}</h1>
<p class="verdict {report.verdict}" id="verdict">{e(report.verdict.upper())}</p>
<p>Checked {e(report.checked_at)}{" (strict)" if report.strict else ""}: {s["assets"]} assets,
{s["blocked"]} blocked, {s["ai"]} AI ({s["approved"]} approved), {s["unknown"]} unknown,
{s["errors"]} errors.</p>
<table><thead><tr><th></th><th>asset</th><th>decision</th><th>origin</th><th>reasons</th>
<th>evidence</th></tr></thead><tbody>
{"".join(rows)}
</tbody></table>
{"".join(_timeline_html(report, v) for v in report.timelines)}</body></html>
"""


def _timeline_html(report: CheckReport, view: TimelineView) -> str:
    e = html.escape
    rows = []
    for c in view.clips:
        decision, reasons = report.clip_verdict(c)
        refs = "".join(
            f"<li>{e(r.key)}: {e(r.link.status)}"
            + (f" ({e(r.link.how)})" if r.link.how else "")
            + (f" <code>{e(r.link.media)}</code>" if r.link.media else "")
            + (f" frames {e(r.link.frames)}" if r.link.frames else "")
            + "".join(f"<br>candidate <code>{e(x)}</code>" for x in r.link.candidates)
            + "</li>"
            for r in c.references
        )
        why = "".join(f"<li>{e(r)}</li>" for r in reasons)
        rows.append(
            f'<tr class="{decision}"><td>{c.index:03d}</td><td>{e(c.track)}</td>'
            f"<td>{e(c.record_in)}</td><td>{e(c.source_in)}-{e(c.source_out)}</td>"
            f"<td>{e(c.name)}</td><td><ul>{refs}</ul></td><td>{e(decision.upper())}</td>"
            f"<td><ul>{why}</ul></td></tr>"
        )
    return (
        f"<h2>Timeline {e(view.name)} <code>{e(view.path)}</code> ({e(view.adapter)})</h2>"
        "<table><thead><tr><th>#</th><th>track</th><th>record in</th><th>source</th>"
        "<th>clip</th><th>media</th><th>decision</th><th>reasons</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


RENDERERS = {"text": render_text, "json": render_json, "junit": render_junit, "html": render_html}
