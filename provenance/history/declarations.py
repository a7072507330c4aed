"""Declared uses: the notice to the studio of an intended use of generative AI, given before
the material exists.

A declaration names a tool, a purpose, a use category and a scope (shots, sequences, folders,
globs), who declares, and whether talent, personal data or third-party material is involved.
Each is an event in the chain with a short reference (`D-0001`) and a state:

    noted           low-risk: the notice is enough (the policy's `notice_only` categories)
    needs-approval  the studio must approve it in writing
    escalated       the declarer is unsure and asks the studio
    approved        the studio approved the intended use (its written reference is kept)
    refused         the studio refused it
    withdrawn       the declarer no longer intends it

Every AI asset the store records is matched to the declarations whose tool and scope cover
it. A declaration is notice, never approval: the gate still needs a written approval of the
exact content (`provgate approve ASSET --declaration REF` links the two).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from provenance.config import Policy
from provenance.errors import DeclarationError
from provenance.globs import glob_problem
from provenance.model import UNKNOWN_TOOL, USE_CATEGORIES, tool_matches
from provenance.names import shown
from provenance.stores import Store, now_iso
from provenance.stores import declarations as sql

STATES = ("noted", "needs-approval", "escalated", "approved", "refused", "withdrawn")
# States in which a declaration still covers what is found under it.
LIVE_STATES = frozenset({"noted", "needs-approval", "escalated", "approved"})
SCOPE_KINDS = ("shot", "sequence", "folder", "glob")
# action -> (the states it may start from, the state it leads to)
ACTIONS: dict[str, tuple[frozenset[str], str]] = {
    "escalate": (frozenset({"noted", "needs-approval"}), "escalated"),
    "approve": (frozenset({"noted", "needs-approval", "escalated"}), "approved"),
    "refuse": (frozenset({"noted", "needs-approval", "escalated", "approved"}), "refused"),
    "withdraw": (frozenset(LIVE_STATES), "withdrawn"),
}


@dataclass(frozen=True)
class ScopeEntry:
    """Where a declared use applies: a shot or sequence name (a whole word of the path, any
    case), a folder (everything below it), or a glob (on the full path when it holds a `/`,
    else on the file name)."""

    kind: str
    value: str

    @classmethod
    def make(cls, kind: str, value: str) -> ScopeEntry:
        """A scope entry as given by a person: folders and path globs made absolute."""
        value = value.strip()
        if kind not in SCOPE_KINDS:
            raise DeclarationError(f"unknown scope kind {kind!r} ({', '.join(SCOPE_KINDS)})")
        if not value:
            raise DeclarationError(f"an empty {kind} in the scope")
        problem = glob_problem(value) if kind == "glob" else None
        if problem:
            raise DeclarationError(f"glob {problem}")
        if kind == "folder":
            value = os.path.abspath(value).rstrip("/") or "/"
        elif kind == "glob" and "/" in value and not value.startswith("/"):
            value = os.path.join(os.path.abspath("."), value)
        return cls(kind, value)

    def covers(self, path: str) -> bool:
        if self.kind == "folder":
            return path == self.value or path.startswith(self.value.rstrip("/") + "/")
        if self.kind == "glob":
            target = path if "/" in self.value else path.rsplit("/", 1)[-1]
            return fnmatch.fnmatchcase(target, self.value)
        word = rf"(?<![A-Za-z0-9]){re.escape(self.value)}(?![A-Za-z0-9])"
        return re.search(word, path, re.IGNORECASE) is not None

    def __str__(self) -> str:
        return scope_text([{"kind": self.kind, "value": self.value}])


def scope_text(scope: Iterable[dict[str, str]]) -> str:
    """A scope as one line for people (`folder /show/sq01; glob *.exr`): folder and glob
    values are names, shown as `ls` shows them (a newline or ESC in one never gets out raw)."""
    return "; ".join(f"{s['kind']} {shown(s['value'])}" for s in scope)


@dataclass(frozen=True)
class Declaration:
    reference: str
    tool: str
    purpose: str
    use_category: str
    scope: tuple[ScopeEntry, ...]
    declared_by: str
    declared_at: str
    state: str
    state_at: str
    state_by: str
    tool_version: str | None = None
    talent: bool = False
    personal_data: bool = False
    third_party: bool = False
    note: str | None = None
    state_reference: str | None = None
    state_note: str | None = None
    facility: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Declaration:
        return cls(
            reference=row["reference"],
            tool=row["tool"],
            tool_version=row["tool_version"],
            purpose=row["purpose"],
            use_category=row["use_category"],
            scope=tuple(ScopeEntry(k, v) for k, v in json.loads(row["scope"])),
            declared_by=row["declared_by"],
            declared_at=row["declared_at"],
            facility=row["facility"],
            talent=bool(row["talent"]),
            personal_data=bool(row["personal_data"]),
            third_party=bool(row["third_party"]),
            note=row["note"],
            state=row["state"],
            state_at=row["state_at"],
            state_by=row["state_by"],
            state_reference=row["state_reference"],
            state_note=row["state_note"],
        )

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES

    @property
    def tool_label(self) -> str:
        return f"{self.tool} {self.tool_version}" if self.tool_version else self.tool

    @property
    def involves(self) -> list[str]:
        return [
            name
            for name, flag in (
                ("talent", self.talent),
                ("personal data", self.personal_data),
                ("third-party material", self.third_party),
            )
            if flag
        ]

    def covers(self, tool: str | None, paths: Iterable[str]) -> bool:
        """Whether an asset made with `tool` and living at `paths` falls under this
        declaration. An asset whose tool nobody recorded is matched by its scope alone
        (the match is shown as such: `tool_confirmed` in the report)."""
        if tool and not tool_matches(self.tool, tool):
            return False
        return any(entry.covers(p) for p in paths for entry in self.scope)

    def to_json(self, policy: Policy | None = None) -> dict[str, Any]:
        out = {
            "reference": self.reference,
            "state": self.state,
            "tool": self.tool,
            "tool_version": self.tool_version,
            "purpose": self.purpose,
            "use": self.use_category,
            "scope": [{"kind": s.kind, "value": s.value} for s in self.scope],
            "declared_by": self.declared_by,
            "declared_at": self.declared_at,
            "facility": self.facility,
            "talent": self.talent,
            "personal_data": self.personal_data,
            "third_party": self.third_party,
            "involves": self.involves,
            "note": self.note,
            "state_at": self.state_at,
            "state_by": self.state_by,
            "state_reference": self.state_reference,
            "state_note": self.state_note,
        }
        if policy is not None:
            out["tool_problem"] = policy.tool_problem(self.tool_label)
        return out


def initial_state(
    policy: Policy, use: str, tool: str, *, involves: Sequence[str], unsure: bool
) -> str:
    """`escalated` when the declarer is unsure; `noted` for the policy's notice-only uses
    that involve no talent, personal data or third-party material and name a cleared tool;
    else `needs-approval`."""
    if unsure:
        return "escalated"
    if use in policy.notice_only and not involves and policy.tool_problem(tool) is None:
        return "noted"
    return "needs-approval"


def declare(
    store: Store,
    policy: Policy,
    *,
    tool: str,
    purpose: str,
    use: str,
    scope: Sequence[ScopeEntry],
    by: str,
    tool_version: str | None = None,
    talent: bool = False,
    personal_data: bool = False,
    third_party: bool = False,
    unsure: bool = False,
    note: str | None = None,
) -> Declaration:
    """Record a declared use as an event in the chain and give it its reference."""
    tool, purpose, by = tool.strip(), purpose.strip(), by.strip()
    for name, value in (("tool", tool), ("purpose", purpose), ("who declares", by)):
        if not value:
            raise DeclarationError(f"a declaration needs its {name}")
    if use not in USE_CATEGORIES:
        raise DeclarationError(f"unknown use category {use!r}")
    if not scope:
        raise DeclarationError(
            "a declaration needs a scope: --shot, --sequence, --folder or --glob"
        )
    version = (tool_version or "").strip() or None
    label = f"{tool} {version}" if version else tool
    flags = [n for n, f in (("talent", talent), ("pd", personal_data), ("3p", third_party)) if f]
    state = initial_state(policy, use, label, involves=flags, unsure=unsure)

    def record() -> Declaration:
        number = sql.next_declaration_number(store)
        now = now_iso()
        declaration = Declaration(
            reference=f"D-{number:04d}",
            tool=tool,
            tool_version=version,
            purpose=purpose,
            use_category=use,
            scope=tuple(scope),
            declared_by=by,
            declared_at=now,
            facility=store.facility,
            talent=talent,
            personal_data=personal_data,
            third_party=third_party,
            note=(note or "").strip() or None,
            state=state,
            state_at=now,
            state_by=by,
        )
        row = declaration.to_json()
        sql.insert_declaration(
            store,
            {
                **row,
                "id": number,
                "use_category": use,
                "scope": json.dumps([[s.kind, s.value] for s in scope], ensure_ascii=False),
                "talent": int(talent),
                "personal_data": int(personal_data),
                "third_party": int(third_party),
            },
        )
        store.append_event("declared", detail=declaration.to_json(policy))
        return declaration

    return store.atomic(record)


def change_state(
    store: Store,
    reference: str,
    action: str,
    *,
    by: str,
    written_reference: str | None = None,
    note: str | None = None,
) -> Declaration:
    """Escalate, approve, refuse or withdraw a declaration, as an event in the chain.
    Approving needs the studio's written reference; refusing needs a reason."""
    if action not in ACTIONS:
        raise DeclarationError(f"unknown action {action!r} ({', '.join(ACTIONS)})")
    by = by.strip()
    written_reference = (written_reference or "").strip() or None
    note = (note or "").strip() or None
    if not by:
        raise DeclarationError("say who makes the change (--by)")
    if action == "approve" and not written_reference:
        raise DeclarationError("approving a declared use needs the studio's reference (--ref)")
    if action == "refuse" and not note:
        raise DeclarationError("refusing a declared use needs a reason (--reason)")
    starts, state = ACTIONS[action]

    def record() -> Declaration:
        current = get_declaration(store, reference)
        if current.state not in starts:
            raise DeclarationError(
                f"declaration {current.reference} is {current.state}: cannot {action} it"
            )
        now = now_iso()
        sql.set_declaration_state(store, current.reference, state, now, by, written_reference, note)
        store.append_event(
            "declaration-changed",
            detail={
                "reference": current.reference,
                "from": current.state,
                "state": state,
                "by": by,
                "written_reference": written_reference,
                "note": note,
            },
        )
        return get_declaration(store, current.reference)

    return store.atomic(record)


def get_declaration(store: Store, reference: str) -> Declaration:
    row = sql.declaration_row(store, reference.strip())
    if row is None:
        raise DeclarationError(f"no declaration {reference!r}")
    return Declaration.from_row(row)


def list_declarations(store: Store, state: str | None = None) -> list[Declaration]:
    if state is not None and state not in STATES:
        raise DeclarationError(f"unknown state {state!r} ({', '.join(STATES)})")
    return [Declaration.from_row(r) for r in sql.declaration_rows(store, state)]


def declaration_history(store: Store, reference: str) -> list[dict[str, Any]]:
    """The declaration's events, oldest first."""
    ref = get_declaration(store, reference).reference
    return [e for e in sql.declaration_events(store) if e["detail"].get("reference") == ref]


def covering(store: Store, content_id: str, *, live_only: bool = True) -> list[Declaration]:
    """The declarations whose tool and scope cover one asset (by its recorded tool and every
    place it lives, at every facility)."""
    asset = store.asset(content_id)
    if asset is None:
        return []
    paths = [f.path for f in store.files_with_content(content_id, everywhere=True)]
    return [
        d
        for d in list_declarations(store)
        if (d.live or not live_only) and d.covers(_recorded_tool(asset), paths)
    ]


def annotate(
    rows: list[dict[str, Any]], declarations: Sequence[Declaration], policy: Policy
) -> None:
    """Give each disclosure-report row (an AI asset with `tool` and `paths`) the declarations
    that cover it and the policy's word on its tool:

    * `declarations`: references of the live declarations covering it;
    * `declared`: whether any does (else it is undeclared AI material);
    * `not_covered_by`: refused or withdrawn declarations that would have covered it;
    * `tool_confirmed`: whether the asset's own tool name matched (False: by scope alone);
    * `tool_problem`: "tool not cleared: ..." or None."""
    for row in rows:
        tool = _recorded_tool(row)
        covering = [d for d in declarations if d.covers(tool, row["paths"])]
        live = [d for d in covering if d.live]
        row["declarations"] = [d.reference for d in live]
        row["declared"] = bool(live)
        row["not_covered_by"] = [f"{d.reference} ({d.state})" for d in covering if not d.live]
        row["tool_confirmed"] = bool(live) and bool(tool)
        row["tool_problem"] = policy.tool_problem(tool)


def _recorded_tool(row: dict[str, Any]) -> str | None:
    """A report row's tool name, or None when no evidence named one."""
    tool = row["tool"]
    return None if not tool or tool == UNKNOWN_TOOL else str(tool)


def found_under(
    rows: list[dict[str, Any]], declarations: Sequence[Declaration], policy: Policy
) -> list[dict[str, Any]]:
    """The disclosure report's section per declaration: the declaration and the AI assets
    found under it (rows already `annotate`d)."""
    out = []
    for d in declarations:
        found = [r for r in rows if d.covers(_recorded_tool(r), r["paths"])]
        out.append({"declaration": d.to_json(policy), "found": found})
    return out


def undeclared(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The AI assets no live declaration covers (rows already `annotate`d)."""
    return [r for r in rows if not r["declared"]]
