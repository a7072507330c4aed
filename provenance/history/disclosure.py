"""The disclosure report as a page: every AI use on the show, for the studio contact."""

from __future__ import annotations

import html
from typing import Any

from provenance.stores import now_iso


def render_disclosure_html(rows: list[dict[str, Any]]) -> str:
    e = html.escape
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
        paths = "<br>".join(e(p) for p in r["paths"][:5])
        where = e(", ".join(r.get("facilities") or []))
        body.append(
            f'<tr class="{e(r["status"])}"><td>{paths}</td><td>{where}</td>'
            f"<td>{e(r['origin'])}</td>"
            f"<td>{e(r['tool'] or '')}</td><td>{e(r['use'] or '')}</td>"
            f"<td>{e(r['status'])}</td><td>{approval}</td></tr>"
        )
    approved = sum(r["status"] == "approved" for r in rows)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>AI disclosure report</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse;
width:100%}}td,th{{border-bottom:1px solid #ddd;padding:.4em;text-align:left}}
tr.temporary td,tr.revoked td,tr.expired td{{background:#fff4f4}}</style></head><body>
<h1>AI disclosure report</h1><p>Generated {e(now_iso())}: {len(rows)} AI assets,
{approved} approved.</p>
<table><thead><tr><th>paths</th><th>facility</th><th>origin</th><th>tool</th><th>use</th><th>status</th>
<th>approval</th></tr></thead><tbody>{"".join(body)}</tbody></table></body></html>
"""
