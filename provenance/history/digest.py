"""The clearance contact's digest: new declarations, escalations and undeclared AI finds
since the last digest, as an HTML page or an e-mail handed to the site's own
sendmail-compatible command. Nothing leaves the machine unless that command is configured.

Each digest delivered is an event (`digest`) recording the last event it covered and when
it was built, so the next one starts where it ended.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from provenance.config import Config, DigestConfig
from provenance.errors import DigestError
from provenance.history.declarations import get_declaration, scope_text
from provenance.history.disclosure import html_name
from provenance.history.disclosure import html_text as _e
from provenance.history.listings import report_rows
from provenance.names import one_line, shown
from provenance.stores import Store, now_iso
from provenance.stores import declarations as sql

_SEND_TIMEOUT = 120


@dataclass
class Digest:
    since: str | None  # when the last digest was built (None: this is the first)
    through: int  # the last event it covers
    built_at: str = field(default_factory=now_iso)
    declared: list[dict[str, Any]] = field(default_factory=list)
    escalations: list[dict[str, Any]] = field(default_factory=list)
    undeclared: list[dict[str, Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.declared or self.escalations or self.undeclared)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "declared": len(self.declared),
            "escalated": len(self.escalations),
            "undeclared": len(self.undeclared),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "through": self.through,
            "built_at": self.built_at,
            **{k: getattr(self, k) for k in ("declared", "escalations", "undeclared")},
        }


def build_digest(store: Store, config: Config) -> Digest:
    """What happened since the last digest: declarations made, declarations escalated (by
    the declarer's doubt or later), and AI assets first seen since that no declaration covers."""
    last = sql.last_event(store, "digest")
    after = int(last["detail"].get("through", 0)) if last else 0
    since = last["detail"].get("built_at", last["at"]) if last else None
    digest = Digest(since=since, through=sql.head_seq(store))
    policy = config.policy
    for event in sql.declaration_events(store, after):
        if event["seq"] > digest.through:
            break
        detail = event["detail"]
        current = get_declaration(store, detail["reference"]).to_json(policy)
        if event["kind"] == "declared":
            digest.declared.append(current)
        if detail.get("state") == "escalated":
            digest.escalations.append(
                {
                    "declaration": current,
                    "at": event["at"],
                    "by": detail.get("by") or detail.get("declared_by"),
                    "note": detail.get("state_note") or detail.get("note"),
                }
            )
    rows = report_rows(store, config)  # each row says which declarations cover it
    digest.undeclared = [
        r for r in rows if not r["declared"] and (since is None or r["first_seen"] > since)
    ]
    return digest


def _declaration_line(d: dict[str, Any]) -> str:
    tool = d["tool"] + (f" {d['tool_version']}" if d["tool_version"] else "")
    scope = scope_text(d["scope"])
    flags = [k.replace("_", " ") for k in ("talent", "personal_data", "third_party") if d[k]]
    return (
        f"<b>{_e(d['reference'])}</b> [{_e(d['state'])}] {_e(d['purpose'])}: {_e(tool)}"
        f" for {_e(d['use'])}, scope {_e(scope)}, declared by {_e(d['declared_by'])}"
        + (f"; involves {_e(', '.join(flags))}" if flags else "")
        + (f' <b style="color:#a00">{_e(d["tool_problem"])}</b>' if d.get("tool_problem") else "")
    )


def render_digest_html(digest: Digest) -> str:
    """The digest as one self-contained HTML page (also the e-mail's body)."""
    since = f"since {_e(digest.since[:19].replace('T', ' '))} UTC" if digest.since else "so far"
    parts = [f"<h1>provgate digest</h1><p>New {since}.</p>"]
    parts.append(f"<h2>New declarations ({len(digest.declared)})</h2>")
    parts.append(
        "<ul>" + "".join(f"<li>{_declaration_line(d)}</li>" for d in digest.declared) + "</ul>"
        if digest.declared
        else "<p>None.</p>"
    )
    parts.append(f"<h2>Escalations ({len(digest.escalations)})</h2>")
    parts.append(
        "<ul>"
        + "".join(
            f"<li>{_declaration_line(x['declaration'])}<br>escalated by {_e(x['by'])}"
            + (f": {_e(x['note'])}" if x["note"] else "")
            + "</li>"
            for x in digest.escalations
        )
        + "</ul>"
        if digest.escalations
        else "<p>None.</p>"
    )
    parts.append(f"<h2>Undeclared AI material ({len(digest.undeclared)})</h2>")
    parts.append(
        "<ul>"
        + "".join(
            f"<li>{html_name(r['paths'][0])} ({_e(r['origin'])},"
            f" tool {_e(r['tool'] or 'not recorded')},"
            f" {_e(r['status'])})"
            + (f' <b style="color:#a00">{_e(r["tool_problem"])}</b>' if r["tool_problem"] else "")
            + "</li>"
            for r in digest.undeclared
        )
        + "</ul>"
        if digest.undeclared
        else "<p>None.</p>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>provgate digest</title></head>"
        f'<body style="font:14px system-ui,sans-serif">{"".join(parts)}</body></html>\n'
    )


def render_digest_text(digest: Digest) -> str:
    """The plain-text alternative of the e-mail."""
    lines = [f"provgate digest ({digest.since or 'first'} to {digest.built_at})", ""]
    for d in digest.declared:
        lines.append(
            one_line(f"declared {d['reference']} [{d['state']}] {d['tool']}: {d['purpose']}")
        )
    for x in digest.escalations:
        lines.append(
            one_line(f"escalated {x['declaration']['reference']}: {x['note'] or ''}".rstrip())
        )
    for r in digest.undeclared:
        tool = one_line(r["tool"] or "tool not recorded")
        lines.append(f"undeclared {shown(r['paths'][0])} ({tool})")
    return "\n".join(lines) + "\n"


def digest_message(digest: Digest, settings: DigestConfig) -> EmailMessage:
    """The digest as an e-mail (plain text and HTML) from and to the configured addresses."""
    c = digest.counts
    msg = EmailMessage()
    msg["Subject"] = (
        f"{settings.subject}: {c['declared']} new, {c['escalated']} escalated,"
        f" {c['undeclared']} undeclared"
    )
    msg["From"] = settings.sender
    msg["To"] = ", ".join(settings.to)
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid("provgate-digest")
    msg.set_content(render_digest_text(digest))
    msg.add_alternative(render_digest_html(digest), subtype="html")
    return msg


def send_digest(message: EmailMessage, settings: DigestConfig) -> None:
    """Hand the message to the site's sendmail-compatible command on stdin."""
    if not settings.command:
        raise DigestError(
            "no mail command configured ([digest] command in provgate.toml): nothing sent"
        )
    try:
        done = subprocess.run(
            list(settings.command),
            input=message.as_bytes(),
            capture_output=True,
            timeout=_SEND_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise DigestError("mail command not found", settings.command[0]) from None
    except PermissionError:
        raise DigestError("mail command is not executable", settings.command[0]) from None
    except subprocess.TimeoutExpired:
        raise DigestError(
            f"mail command did not finish in {_SEND_TIMEOUT} s", settings.command[0]
        ) from None
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise DigestError(
            f"mail command exited {done.returncode}" + (f": {said[-1]}" if said else ""),
            settings.command[0],
        )


def mark_delivered(store: Store, digest: Digest, delivered_to: list[str]) -> None:
    """Record that this digest went out, so the next starts after it."""
    store.append_event(
        "digest",
        detail={
            "through": digest.through,
            "built_at": digest.built_at,
            "counts": digest.counts,
            "delivered_to": delivered_to,
        },
    )
