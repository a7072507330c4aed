"""The review page's declared uses: the list with its form, one declaration with what was
found under it and its state changes, and the AI material nobody declared.

Reads and writes go through the library (`provenance.api.disclosure`, `declare`, and
`provenance.history.declarations`), the calls `provgate declare` and `provgate declarations`
make: the same events, the same rules. Viewers read; approvers declare and change states.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from provenance import api
from provenance.errors import ProvgateError
from provenance.history import declarations as decl
from provenance.model import USE_CATEGORIES

from .app import checked_form, current_user, render, review_of

_REFERENCE = re.compile(r"D-\d{4,}", re.IGNORECASE)
_FIELDS = ("tool", "tool_version", "purpose", "use", "shot", "sequence", "folder", "glob", "note")
_FLAGS = ("talent", "personal_data", "third_party", "unsure")
_ACTIONS = ("escalate", "approve", "refuse", "withdraw")


def _reference(request: Request) -> str:
    ref = str(request.path_params["ref"])
    if not _REFERENCE.fullmatch(ref):
        raise HTTPException(404, "No such declaration: the address must end in its reference.")
    return ref.upper()


def _writer(request: Request) -> str:
    user = current_user(request)
    if user is None or not user.can_approve:
        raise HTTPException(403, "Only approvers can record or change declarations.")
    return user.name


def _disclosure(request: Request) -> dict[str, Any]:
    review = review_of(request)
    with review.stores.store() as store:
        return api.disclosure(store, review.workspace.config)


def _list_page(request: Request, status: int = 200, **extra: Any) -> Response:
    report = _disclosure(request)
    context = {
        "sections": report["declarations"],
        "undeclared": len(report["undeclared"]),
        "uses": USE_CATEGORIES,
        "notice_only": sorted(review_of(request).workspace.config.policy.notice_only),
        "form": {k: "" for k in (*_FIELDS, *_FLAGS)},
        "error": None,
    }
    context.update(extra)
    return render(request, "declarations.html", context, status)


def declarations_page(request: Request) -> Response:
    return _list_page(request)


def _lines(text: str) -> list[str]:
    return [v.strip() for v in re.split(r"[\n,]", text) if v.strip()]


async def declare(request: Request) -> Response:
    by = _writer(request)
    form = await checked_form(request)
    review = review_of(request)
    values = {k: str(form.get(k, "")).strip() for k in _FIELDS}
    flags = {k: form.get(k) == "on" for k in _FLAGS}

    def record() -> decl.Declaration:
        for kind in ("folder", "glob"):  # the server's working folder means nothing here
            values_of = _lines(values[kind])
            if any((kind == "folder" or "/" in v) and not v.startswith("/") for v in values_of):
                raise ProvgateError(f"a {kind} on this page must be an absolute path")
        scope = [
            decl.ScopeEntry.make(kind, value)
            for kind in ("shot", "sequence", "folder", "glob")
            for value in _lines(values[kind])
        ]
        with review.stores.store() as store:
            return api.declare(
                store,
                review.workspace.config,
                tool=values["tool"],
                tool_version=values["tool_version"] or None,
                purpose=values["purpose"],
                use=values["use"],
                scope=scope,
                by=by,
                note=values["note"] or None,
                **flags,
            )

    try:
        made = await run_in_threadpool(record)
    except ProvgateError as exc:
        form_values = {**values, **{k: "on" if v else "" for k, v in flags.items()}}
        return await run_in_threadpool(_list_page, request, 400, error=exc.reason, form=form_values)
    request.session["flash"] = f"Declared {made.reference} ({made.state})."
    return RedirectResponse(f"/declaration/{made.reference}", status_code=303)


def _declaration_page(request: Request, ref: str, status: int = 200, **extra: Any) -> Response:
    review = review_of(request)
    with review.stores.store() as store:
        found = decl.get_declaration(store, ref)
        history = decl.declaration_history(store, ref)
        report = api.disclosure(store, review.workspace.config)
    section = next(
        s for s in report["declarations"] if s["declaration"]["reference"] == found.reference
    )
    context = {
        "d": section["declaration"],
        "found": section["found"],
        "history": history,
        "actions": [a for a in _ACTIONS if found.state in decl.ACTIONS[a][0]],
        "error": None,
    }
    context.update(extra)
    return render(request, "declaration.html", context, status)


def declaration_page(request: Request) -> Response:
    ref = _reference(request)
    try:
        return _declaration_page(request, ref)
    except ProvgateError as exc:
        raise HTTPException(404, exc.reason) from None


async def change(request: Request) -> Response:
    by = _writer(request)
    form = await checked_form(request)
    ref = _reference(request)
    action = str(request.path_params["action"])
    if action not in _ACTIONS:
        raise HTTPException(404, "No such action.")
    review = review_of(request)
    written = str(form.get("reference", "")).strip() or None
    note = str(form.get("note", "")).strip() or None

    def record() -> decl.Declaration:
        with review.stores.store() as store:
            return decl.change_state(
                store, ref, action, by=by, written_reference=written, note=note
            )

    try:
        changed = await run_in_threadpool(record)
    except ProvgateError as exc:
        return await run_in_threadpool(_declaration_page, request, ref, 400, error=exc.reason)
    request.session["flash"] = f"{changed.reference} is now {changed.state}."
    return RedirectResponse(f"/declaration/{changed.reference}", status_code=303)


def undeclared_page(request: Request) -> Response:
    report = _disclosure(request)
    return render(request, "undeclared.html", {"rows": report["undeclared"]})


ROUTES = [
    Route("/declarations", declarations_page, methods=["GET"]),
    Route("/declarations", declare, methods=["POST"]),
    Route("/declaration/{ref}", declaration_page, methods=["GET"]),
    Route("/declaration/{ref}/{action}", change, methods=["POST"]),
    Route("/undeclared", undeclared_page, methods=["GET"]),
]
