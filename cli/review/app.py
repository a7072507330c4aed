"""The review application: Starlette routes, sessions, sign-in, CSRF and security headers.

Every page but the sign-in page and the static files needs a signed-in user; the check sits
in one middleware (`SignInRequired`) so that a new route cannot forget it. Approving and
revoking need the approver role and a CSRF token tied to the session.
"""

from __future__ import annotations

import hmac
import secrets
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.datastructures import FormData, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from provenance.errors import ProvgateError
from provenance.names import one_line
from provenance.stores import Store, open_store
from provenance.workspace import CONFIG_NAME, Workspace

from .auth import (
    SESSIONS_NAME,
    USERS_NAME,
    ReviewSettings,
    Sessions,
    SignInThrottle,
    User,
    UserBook,
    load_settings,
    session_secret,
)
from .thumbs import Thumbnails

HERE = Path(__file__).parent
PUBLIC_PREFIXES = ("/login", "/static/")
SESSION_COOKIE = "provgate_review"
CSP = (
    "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


class StorePool:
    """Store connections for the worker threads: one request uses one connection at a time,
    and connections are reused rather than reopened (opening one runs the migration check)."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._free: list[Store] = []
        self._lock = threading.Lock()

    @contextmanager
    def store(self) -> Iterator[Store]:
        with self._lock:
            store = self._free.pop() if self._free else None
        store = store or open_store(self.workspace)
        try:
            yield store
        finally:
            store.rollback()  # a failed write: leave nothing open
            with self._lock:
                self._free.append(store)

    def close(self) -> None:
        with self._lock:
            for store in self._free:
                store.close()
            self._free.clear()


@dataclass(frozen=True)
class Review:
    """What the pages share: the workspace, its settings and users, the store pool."""

    workspace: Workspace
    settings: ReviewSettings
    users: UserBook
    stores: StorePool
    thumbs: Thumbnails
    templates: Jinja2Templates
    throttle: SignInThrottle
    sessions: Sessions


def review_of(request: Request) -> Review:
    review: Review = request.app.state.review
    return review


def current_user(request: Request) -> User | None:
    user: User | None = getattr(request.state, "user", None)
    return user


def identify(scope: Scope, review: Review) -> tuple[User | None, str | None]:
    """The signed-in user: from the trusted proxy header when enabled and the request came
    from a trusted proxy, else from the session. Returns (user, why not) for refusals."""
    request = Request(scope)
    header = review.settings.trusted_header
    peer = request.client.host if request.client else None
    if header and peer in review.settings.trusted_proxies and request.headers.get(header):
        names = request.headers.getlist(header)
        if len(names) != 1:  # which one the proxy set cannot be told: refuse, never pick one
            return None, f"the {header} header is given {len(names)} times: refused"
        name = names[0]
        user = review.users.get(name)
        return (user, None) if user else (None, f"{name} is not a user of this review page")
    session = request.session
    user = review.users.get(session.get("user"))
    if (
        user is None
        or not hmac.compare_digest(session.get("fp", ""), user.fingerprint)
        or review.sessions.user_of(session.get("sid")) != user.name
    ):
        for key in ("user", "fp", "sid"):
            # removed user, changed password, signed out or expired: the session ends
            session.pop(key, None)
        return None, None
    return user, None


class SignInRequired:
    """Lets only the sign-in page and static files through without a user; everything else
    redirects to the sign-in page (or 403 when a trusted proxy names an unknown user)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        review: Review = scope["app"].state.review
        user, refused = identify(scope, review)
        scope.setdefault("state", {})["user"] = user
        path = scope["path"]
        if user is None and not path.startswith(PUBLIC_PREFIXES):
            if refused:
                context = {"status": 403, "message": refused}
                response: Response = review.templates.TemplateResponse(
                    Request(scope, receive), "error.html", context, 403
                )
            else:
                query = scope.get("query_string", b"").decode("latin-1")
                target = path + (f"?{query}" if query else "")
                response = RedirectResponse(f"/login?next={quote(target)}", status_code=303)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """No framing, no sniffing, no external resources, no caching of pages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CSP)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


async def checked_form(request: Request) -> FormData:
    """The posted form, after its CSRF token has been compared with the session's (403)."""
    form = await request.form(max_files=0, max_fields=50)
    sent = form.get("csrf")
    expected = request.session.get("csrf")
    if not isinstance(sent, str) or not expected or not hmac.compare_digest(sent, expected):
        raise HTTPException(
            403,
            "This form has expired or did not come from this page (CSRF check failed). "
            "Go back, reload the page and try again.",
        )
    return form


def require_approver(request: Request) -> User:
    user = current_user(request)
    if user is None or not user.can_approve:
        raise HTTPException(403, "Only approvers can approve or revoke.")
    return user


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    return review_of(request).templates.TemplateResponse(request, name, context, status)


def _page_context(request: Request) -> dict[str, Any]:
    return {
        "user": current_user(request),
        "csrf": csrf_token(request),
        "flash": request.session.pop("flash", None),
    }


async def error_page(request: Request, exc: Exception) -> Response:
    """HTTP errors and library errors as a readable page."""
    if isinstance(exc, HTTPException):
        status, message = exc.status_code, exc.detail
    else:
        status, message = 503, f"The store could not be read or written: {exc}"
    return render(request, "error.html", {"status": status, "message": message}, status)


def _printable(value: Any) -> Any:
    """What every `{{ }}` of a page writes: text with a byte that is not UTF-8 (a file name's)
    or a control character escaped as the CLI shows it (`\\xff`, `\\x1b`), so that a page
    holding such a name can be sent at all (UTF-8) and hides nothing invisible."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return one_line(value)
    return value


def _templates() -> Jinja2Templates:
    from .filters import FILTERS

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        finalize=_printable,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return Jinja2Templates(env=env, context_processors=[_page_context])


def create_app(workspace: Workspace, settings: ReviewSettings | None = None) -> Starlette:
    """The review application for one workspace."""
    from . import pages

    settings = settings or load_settings(workspace.root / CONFIG_NAME)
    review = Review(
        workspace=workspace,
        settings=settings,
        users=UserBook(workspace.root / USERS_NAME),
        stores=StorePool(workspace),
        thumbs=Thumbnails(workspace.root / "thumbs"),
        templates=_templates(),
        throttle=SignInThrottle(),
        sessions=Sessions(settings.session_hours * 3600, workspace.keys_dir / SESSIONS_NAME),
    )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        review.stores.close()

    app = Starlette(
        routes=[
            *pages.ROUTES,
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ],
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(
                SessionMiddleware,
                secret_key=session_secret(workspace.keys_dir),
                session_cookie=SESSION_COOKIE,
                max_age=int(settings.session_hours * 3600),
                same_site="lax",
                https_only=settings.secure_cookie,
            ),
            Middleware(SignInRequired),
        ],
        exception_handlers={
            HTTPException: error_page,
            ProvgateError: error_page,
            sqlite3.Error: error_page,
        },
        lifespan=lifespan,
    )
    app.state.review = review
    return app
