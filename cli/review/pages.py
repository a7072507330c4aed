"""The review pages: sign-in, the queue, an asset, approve/revoke, checks, the report.

Reads go through `queries` (paged SQL); writes go through `provenance.api.approve/revoke`,
the same calls `provgate approve/revoke` make, so the events and rules are the CLI's.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from provenance import api
from provenance.errors import ProvgateError
from provenance.history import declarations
from provenance.history.approvals import approvals_of
from provenance.history.disclosure import render_disclosure_html
from provenance.history.registry import Registry
from provenance.history.status import approval_state, refresh_expired
from provenance.model import USE_CATEGORIES
from provenance.sequences import group_frames, typical_of
from provenance.stores import Store
from provenance.stores import review as queries

from . import declared
from .app import HERE, checked_form, current_user, render, require_approver, review_of
from .auth import verify_password

_CONTENT_ID = re.compile(r"[0-9a-f]{64}")
_PLACEHOLDERS = {"video": "video.svg", "audio": "audio.svg"}


def _content_id(request: Request) -> str:
    """The asset named in the URL: a full content id only (never a path the library would
    open), else 404."""
    cid = str(request.path_params["cid"]).lower()
    if not _CONTENT_ID.fullmatch(cid):
        raise HTTPException(404, "No such asset: the address must end in a full content id.")
    return cid


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no //host): never an open redirect."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\", "/login")):
        return "/"
    return target


# -- sign-in ----------------------------------------------------------------------------------


def login_form(request: Request) -> Response:
    nxt = _safe_next(request.query_params.get("next"))
    if current_user(request):
        return RedirectResponse(nxt, status_code=303)
    return render(request, "login.html", {"next": nxt, "name": "", "error": None})


async def login(request: Request) -> Response:
    form = await checked_form(request)
    review = review_of(request)
    name = str(form.get("name", "")).strip()
    password = str(form.get("password", ""))
    nxt = _safe_next(str(form.get("next", "")))
    address = request.client.host if request.client else "?"
    wait = review.throttle.wait_seconds(address, name)
    if wait:
        minutes = max(1, round(wait / 60))
        error = f"Too many failed sign-ins. Try again in about {minutes} minute(s)."
        return render(request, "login.html", {"next": nxt, "name": name, "error": error}, 429)
    user = review.users.get(name)
    ok = await run_in_threadpool(verify_password, password, user.password if user else None)
    if user is None or not ok:
        review.throttle.failed(address, name)
        context = {"next": nxt, "name": name, "error": "Wrong name or password."}
        return render(request, "login.html", context, 401)
    review.throttle.succeeded(address, name)
    request.session.clear()  # a fresh session (and CSRF token) for the signed-in user
    sid = review.sessions.open(user.name)
    request.session.update({"user": user.name, "fp": user.fingerprint, "sid": sid})
    return RedirectResponse(nxt, status_code=303)


async def logout(request: Request) -> Response:
    await checked_form(request)
    review_of(request).sessions.close(request.session.get("sid"))  # the cookie dies here too
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


# -- the queue --------------------------------------------------------------------------------


def _judge(store: Store, request: Request, rows: list[dict[str, Any]]) -> None:
    """Each row's status as the gate sees it today: the recorded status can lag behind an
    approval that has since expired."""
    config = review_of(request).workspace.config
    statuses = Registry(store, config).statuses(
        {r["content_id"]: r["use_category"] or config.policy.default_use for r in rows}
    )
    for row in rows:  # the status rule, as the disclosure report and the gate apply it
        status = statuses[row["content_id"]]
        row["approval"] = status.approval.to_json() if status.cleared and status.approval else None
        row["problems"] = list(status.problems)
        row["shown_status"] = status.status.value
        row["status_reason"] = status.reason


# What a frame of a sequence must share with the rest to go without saying.
_FRAME_FIELDS = ("origin", "tool", "use_category", "shown_status")


def _frame_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row.get(f) for f in _FRAME_FIELDS)


def group_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A page's rows with each frame sequence as one row (as `check` reports it): the row of
    the frame most frames agree with, labelled as `ls` names the sequence, with `frames`
    (every frame's row, in frame order) and `differs` (each frame that does not agree, and
    how). Rows keep the page's order (newest first, a sequence where its newest frame was)."""
    first = {id(r): i for i, r in enumerate(rows)}
    out: list[tuple[int, dict[str, Any]]] = []
    for group in group_frames(rows, lambda r: r["frame_path"]):
        place = min(first[id(r)] for r in group.items)
        if not group.is_sequence:
            out.append((place, {**group.items[0], "frames": None, "differs": []}))
            continue
        typical, odd = typical_of(group.items, _frame_key)
        differs = [
            {
                "row": r,
                "how": ", ".join(
                    f"{f.replace('_category', '').replace('shown_', '')} {r.get(f) or 'none'}"
                    for f in _FRAME_FIELDS
                    if r.get(f) != typical.get(f)
                ),
            }
            for r in odd
        ]
        row = {**typical, "label": group.label, "frames": group.items, "differs": differs}
        out.append((place, row))
    return [row for _place, row in sorted(out, key=lambda pair: pair[0])]


def queue(request: Request) -> Response:
    review = review_of(request)
    q = request.query_params
    flt = queries.QueueFilter(
        path=q.get("path", "").strip(),
        tool=q.get("tool", "").strip(),
        use=q.get("use", "") if q.get("use") in USE_CATEGORIES else "",
        status=q.get("status", "temporary") if q.get("status") in queries.STATUSES else "temporary",
        before=queries.parse_cursor(q.get("before")),
    )
    with review.stores.store() as store:
        refresh_expired(store, review.workspace.config)
        rows, cursor = queries.sequence_page(store, flt, review.settings.page_size)
        _judge(store, request, rows)
        tools = queries.tools(store)
    return render(
        request,
        "queue.html",
        {
            "rows": group_rows(rows),
            "filter": flt,
            "next_page": flt.params(cursor) if cursor else None,
            "tools": tools,
            "uses": USE_CATEGORIES,
            "statuses": queries.STATUSES,
        },
    )


# -- one asset --------------------------------------------------------------------------------


def _asset_context(store: Store, request: Request, cid: str) -> dict[str, Any]:
    """Everything the asset page shows: rows, evidence, approvals, history, checks."""
    config = review_of(request).workspace.config
    asset = store.asset(cid)
    if asset is None:
        raise HTTPException(404, f"The store has never seen content {cid[:16]}.")
    is_ai = asset["origin"] in queries.AI_ORIGINS
    linked = store.linked(cid)
    files = store.files_with_content(cid, live_only=False)
    use = asset["use_category"] or config.policy.default_use
    current = Registry(store, config).status(cid, use) if is_ai else None
    effective = current.approval if current is not None and current.cleared else None
    problems = list(current.problems) if current is not None else []
    status = current.status.value if current is not None else None
    approvals = []
    # Read through the library: a row without its event in the verified log shows as such.
    for found in approvals_of(store, linked, config).values():
        for approval in found:
            row = dataclasses.asdict(approval)
            row["state"] = approval_state(approval, config.policy, use)
            approvals.append(row)
    approvals.sort(key=lambda a: a["approved_at"])
    successors = [c for c in linked if c != cid and store.files_with_content(c)]
    return {
        "asset": asset,
        "cid": cid,
        "is_ai": is_ai,
        "status": status,
        "status_reason": current.reason if current is not None else None,
        "effective": effective.to_json() if effective else None,
        "problems": problems,
        "live": [f for f in files if not f.gone],
        "gone": [f for f in files if f.gone],
        "evidence": store.evidence(cid),
        "approvals": approvals,
        "active_refs": sorted({a["reference"] for a in approvals if not a["revoked_at"]}),
        "successors": successors if not any(not f.gone for f in files) else [],
        "history": api.history(cid, store),
        "declared_under": [d.to_json() for d in declarations.covering(store, cid)] if is_ai else [],
        "tool_problem": config.policy.tool_problem(asset["tool"]) if is_ai else None,
        "checks": queries.checks(store, mentioning=linked, limit=25),
        "uses": USE_CATEGORIES,
        "consent_uses": sorted(config.policy.consent_required),
        "today": date.today().isoformat(),
        "form": {
            "reference": "",
            "use": asset["use_category"] or config.policy.default_use,
            "consent": "",
            "expires": "",
            "note": "",
        },
        "error": None,
        "revoke_error": None,
    }


def _render_asset(request: Request, cid: str, status: int = 200, **extra: Any) -> Response:
    with review_of(request).stores.store() as store:
        context = _asset_context(store, request, cid)
    context.update(extra)
    return render(request, "asset.html", context, status)


def asset(request: Request) -> Response:
    return _render_asset(request, _content_id(request))


def _current(store: Store, cid: str, rewritten: list[str]) -> str:
    """The content now at the first rewritten path (a tag rewrite makes new bytes)."""
    for path in rewritten:
        row = store.file(path)
        if row is not None:
            return row.content_id
    return cid


async def approve(request: Request) -> Response:
    user = require_approver(request)
    form = await checked_form(request)
    cid = _content_id(request)
    review = review_of(request)
    values = {
        k: str(form.get(k, "")).strip() for k in ("reference", "use", "consent", "expires", "note")
    }
    consent = tuple(c.strip() for c in re.split(r"[\n,;]", values["consent"]) if c.strip())

    def record() -> str:
        if not values["reference"]:
            raise ProvgateError("the approval needs a reference (the studio's ticket or letter)")
        with review.stores.store() as store:
            results = api.approve(
                [cid],
                review.workspace.config,
                store,
                reference=values["reference"],
                by=user.name,
                use=values["use"] or None,
                consent=consent,
                expires=values["expires"] or None,
                note=values["note"] or None,
            )
            return _current(store, cid, results[0]["rewritten"])

    try:
        current = await run_in_threadpool(record)
    except ProvgateError as exc:
        return await run_in_threadpool(
            _render_asset, request, cid, 400, error=exc.reason, form=values
        )
    request.session["flash"] = f"Approved under {values['reference']} by {user.name}."
    return RedirectResponse(f"/asset/{current}", status_code=303)


async def revoke(request: Request) -> Response:
    user = require_approver(request)
    form = await checked_form(request)
    cid = _content_id(request)
    review = review_of(request)
    reference = str(form.get("reference", "")).strip()
    reason = str(form.get("reason", "")).strip()

    def record() -> str:
        if not reference or not reason:
            raise ProvgateError("a revocation needs the approval reference and a reason")
        with review.stores.store() as store:
            results = api.revoke(
                [cid],
                review.workspace.config,
                store,
                reference=reference,
                by=user.name,
                reason=reason,
            )
            return _current(store, cid, results[0]["rewritten"])

    try:
        current = await run_in_threadpool(record)
    except ProvgateError as exc:
        return await run_in_threadpool(_render_asset, request, cid, 400, revoke_error=exc.reason)
    request.session["flash"] = f"Revoked {reference} ({user.name}: {reason})."
    return RedirectResponse(f"/asset/{current}", status_code=303)


def thumb(request: Request) -> Response:
    """The cached thumbnail of an asset, or a placeholder for what cannot be previewed."""
    cid = _content_id(request)
    review = review_of(request)
    with review.stores.store() as store:
        found = store.asset(cid)
        files = store.files_with_content(cid)
    if found is None:
        raise HTTPException(404, "No such asset.")
    path = review.thumbs.get(cid, found["media_type"], files)
    cache = {"Cache-Control": "private, max-age=86400"}
    if path is not None:
        return FileResponse(path, media_type="image/jpeg", headers=cache)
    kind = found["media_type"].split("/")[0]
    placeholder = HERE / "static" / _PLACEHOLDERS.get(kind, "still.svg")
    return FileResponse(placeholder, media_type="image/svg+xml", headers=cache)


# -- checks and the report --------------------------------------------------------------------


def checks_page(request: Request) -> Response:
    review = review_of(request)
    before = request.query_params.get("before", "")
    limit = review.settings.page_size
    with review.stores.store() as store:
        rows = queries.checks(store, before=int(before) if before.isdigit() else None, limit=limit)
    return render(
        request,
        "checks.html",
        {"checks": rows, "next_before": rows[-1]["seq"] if len(rows) == limit else None},
    )


def report_page(request: Request) -> Response:
    review = review_of(request)
    flt = queries.QueueFilter(
        status="any", before=queries.parse_cursor(request.query_params.get("before"))
    )
    with review.stores.store() as store:
        refresh_expired(store, review.workspace.config)
        rows, cursor = queries.sequence_page(store, flt, review.settings.page_size)
        _judge(store, request, rows)
        totals = queries.ai_totals(store)
    return render(
        request,
        "report.html",
        {
            "rows": group_rows(rows),
            "totals": totals,
            "next_page": flt.params(cursor) if cursor else None,
        },
    )


def _report_rows(request: Request) -> list[dict[str, Any]]:
    review = review_of(request)
    with review.stores.store() as store:
        return api.report_rows(store, review.workspace.config)


def report_csv(request: Request) -> Response:
    name = f"provgate-disclosure-{date.today():%Y%m%d}.csv"
    return Response(
        api.rows_to_csv(_report_rows(request)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def report_html(request: Request) -> Response:
    name = f"provgate-disclosure-{date.today():%Y%m%d}.html"
    review = review_of(request)
    with review.stores.store() as store:
        report = api.disclosure(store, review.workspace.config)
    return Response(
        render_disclosure_html(report["assets"], report["declarations"]),
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            # the downloaded page carries its own inline style and nothing else
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        },
    )


ROUTES = [
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/", queue, methods=["GET"]),
    Route("/asset/{cid}", asset, methods=["GET"]),
    Route("/asset/{cid}/approve", approve, methods=["POST"]),
    Route("/asset/{cid}/revoke", revoke, methods=["POST"]),
    Route("/thumb/{cid}", thumb, methods=["GET"]),
    Route("/checks", checks_page, methods=["GET"]),
    Route("/report", report_page, methods=["GET"]),
    Route("/report.csv", report_csv, methods=["GET"]),
    Route("/report.html", report_html, methods=["GET"]),
    *declared.ROUTES,
]
