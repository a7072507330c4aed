"""The disclosure report as a page: every AI use on the show, for the studio contact — the
declared uses with what was found under each, and the AI material nobody declared."""

from __future__ import annotations

import html
from typing import Any

from provenance.history.declarations import scope_text
from provenance.names import one_line, shown
from provenance.stores import now_iso


def html_text(value: Any) -> str:
    """Free text for the page: escaped for HTML, and as one line (a control character or a
    byte that is not UTF-8 as `\\xNN`, as the CLI prints it)."""
    return html.escape(one_line(str(value)))


def html_name(path: str) -> str:
    """A file name for the page, as `ls` shows it (`shown`: typed back, it names the file)."""
    return html.escape(shown(path))


def _asset_rows(rows: list[dict[str, Any]]) -> str:
    e = html_text
    body = []
    for r in rows:
        a = r["approval"] or {}
        approval = (
            f"{e(a['reference'])} by {e(a['approver'])}"
            + (f", consent {e(', '.join(a['consent']))}" if a.get("consent") else "")
            if a
            else "none"
        )
        if r.get("status_reason"):
            approval += f"<br>{e(r['status_reason'])}"
        paths = "<br>".join(html_name(p) for p in r["paths"][:5])
        where = e(", ".join(r.get("facilities") or []))
        tool = e(r["tool"] or "")
        if r.get("tool_problem"):
            tool += f'<br><strong class="flag">{e(r["tool_problem"])}</strong>'
        declared = e(", ".join(r.get("declarations") or [])) or '<strong class="flag">none</strong>'
        body.append(
            f'<tr class="{e(r["status"])}"><td>{paths}</td><td>{where}</td>'
            f"<td>{e(r['origin'])}</td><td>{tool}</td><td>{e(r['use'] or '')}</td>"
            f"<td>{e(r['status'])}</td><td>{approval}</td><td>{declared}</td></tr>"
        )
    return (
        "<table><thead><tr><th>paths</th><th>facility</th><th>origin</th><th>tool</th>"
        "<th>use</th><th>status</th><th>approval</th><th>declared under</th></tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _declaration_section(section: dict[str, Any]) -> str:
    e = html_text
    d = section["declaration"]
    scope = scope_text(d["scope"])
    tool = d["tool"] + (f" {d['tool_version']}" if d["tool_version"] else "")
    flags = [k.replace("_", " ") for k in ("talent", "personal_data", "third_party") if d[k]]
    lines = [
        f"<h3>{e(d['reference'])}: {e(d['purpose'])}"
        f' <span class="state">{e(d["state"])}</span></h3>',
        f"<p>{e(tool)} for {e(d['use'])}, scope {e(scope)}; declared by {e(d['declared_by'])}"
        f" on {e(d['declared_at'][:10])}"
        + (f"; involves {e(', '.join(flags))}" if flags else "")
        + (f"; {e(d['state'])} by {e(d['state_by'])}" if d["state_by"] != d["declared_by"] else "")
        + (f" ({e(d['state_reference'])})" if d["state_reference"] else "")
        + (f": {e(d['state_note'])}" if d["state_note"] else "")
        + "</p>",
    ]
    if d.get("tool_problem"):
        lines.append(f'<p><strong class="flag">{e(d["tool_problem"])}</strong></p>')
    if d.get("note"):
        lines.append(f"<p>Note: {e(d['note'])}</p>")
    found = section["found"]
    lines.append(_asset_rows(found) if found else "<p>Nothing found under it yet.</p>")
    return "\n".join(lines)


def render_disclosure_html(
    rows: list[dict[str, Any]], declared: list[dict[str, Any]] | None = None
) -> str:
    """The report page: every AI asset; with `declared` (`declarations.found_under`), a
    section per declaration and one of the AI material no declaration covers."""
    approved = sum(r["status"] == "approved" for r in rows)
    parts = [f"<h2>All AI material</h2>{_asset_rows(rows)}"]
    if declared is not None:
        parts.append("<h2>Declared uses</h2>")
        parts += [_declaration_section(s) for s in declared] or ["<p>No declarations.</p>"]
        missing = [r for r in rows if not r.get("declared")]
        parts.append(
            f"<h2>Undeclared AI material ({len(missing)})</h2>"
            "<p>AI assets that no live declaration covers by tool and scope: nobody told the"
            " studio about these uses.</p>" + (_asset_rows(missing) if missing else "<p>None.</p>")
        )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>AI disclosure report</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse;
width:100%}}td,th{{border-bottom:1px solid #ddd;padding:.4em;text-align:left}}
tr.temporary td,tr.revoked td,tr.expired td{{background:#fff4f4}}.flag{{color:#a00}}
.state{{font-size:.8em;border:1px solid #999;border-radius:3px;padding:0 .3em}}</style></head><body>
<h1>AI disclosure report</h1><p>Generated {html_text(now_iso())}: {len(rows)} AI assets,
{approved} approved.</p>
{"".join(parts)}</body></html>
"""
