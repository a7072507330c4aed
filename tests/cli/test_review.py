"""The review page (`provgate serve`) through Starlette's test client, on real workspaces,
real stores and real files: every page and form, sign-in, roles, CSRF, the proxy header,
and that an approval made on the page clears the gate exactly as `provgate approve` does."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image
from starlette.testclient import TestClient

from cli.main import cli
from cli.review.app import SESSION_COOKIE, create_app
from cli.review.auth import (
    SECRET_NAME,
    USERS_NAME,
    ReviewSettings,
    User,
    hash_password,
    load_settings,
    load_users,
    save_users,
    verify_password,
)
from cli.review.thumbs import Thumbnails
from provenance import api
from provenance.gate.decision import DeliveryGate
from provenance.stores import FileRow, Store
from provenance.workspace import Workspace, init_workspace
from tests.conftest import copy_fixture

PASSWORD = "correct horse battery"


def make_workspace(root: Path) -> tuple[Workspace, Path, str]:
    """A workspace that has scanned (and tagged) one real ComfyUI still: (ws, show, cid)."""
    ws = init_workspace(root / "ws")
    show = root / "show"
    copy_fixture("generators/comfyui.png", show / "sh010")
    with Store(ws.store_path) as store:
        api.scan([show], ws.config, store)
        cid = store.file(str(show / "sh010" / "comfyui.png")).content_id
    save_users(
        ws.root / USERS_NAME,
        {
            "alice": User("alice", "approver", hash_password(PASSWORD)),
            "victor": User("victor", "viewer", hash_password(PASSWORD)),
        },
    )
    return ws, show, cid


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Workspace, Path, str]:
    return make_workspace(tmp_path)


def client_for(ws: Workspace, settings: ReviewSettings | None = None) -> TestClient:
    return TestClient(create_app(ws, settings), follow_redirects=False)


@pytest.fixture
def client(setup) -> Iterator[TestClient]:
    with client_for(setup[0]) as c:
        yield c


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def sign_in(client: TestClient, name: str = "alice", password: str = PASSWORD) -> Any:
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login", data={"csrf": token, "name": name, "password": password, "next": "/"}
    )


def form_token(client: TestClient, cid: str) -> str:
    return csrf_of(client.get(f"/asset/{cid}").text)


def gate_verdict(ws: Workspace, show: Path) -> str:
    with Store(ws.store_path) as store:
        return DeliveryGate(ws.config, store).check([str(show)]).verdict


def events(ws: Workspace, kind: str) -> list[dict[str, Any]]:
    with Store(ws.store_path) as store:
        rows = store.conn.execute("SELECT * FROM events WHERE kind = ? ORDER BY seq", (kind,))
        return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]


# -- passwords, users, secrets ----------------------------------------------------------------


def test_passwords_are_salted_scrypt_hashes_checked_in_constant_time():
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first.startswith("scrypt$16384$8$1$") and first != second  # a random salt each
    assert PASSWORD not in first
    assert verify_password(PASSWORD, first) and verify_password(PASSWORD, second)
    assert not verify_password("wrong password", first)
    assert not verify_password(PASSWORD, None) and not verify_password(PASSWORD, "md5$abc")


def test_user_add_list_remove_keep_a_private_users_file(runner, tmp_path):
    ws = ["--workspace", str(init_workspace(tmp_path / "ws").root)]
    added = runner.invoke(
        cli,
        [*ws, "user", "add", "alice", "--role", "approver", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert added.exit_code == 0, added.output
    assert "added alice (approver)" in added.stdout
    path = tmp_path / "ws" / USERS_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert PASSWORD not in path.read_text()
    assert verify_password(PASSWORD, load_users(path)["alice"].password)
    prompted = runner.invoke(
        cli, [*ws, "user", "add", "victor", "--role", "viewer"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert prompted.exit_code == 0, prompted.output
    assert prompted.stdout.count("Password") == 1 and "Repeat for confirmation" in prompted.stdout
    listed = json.loads(runner.invoke(cli, [*ws, "user", "list", "--json"]).stdout)
    assert listed == [
        {"name": "alice", "role": "approver", "password": True},
        {"name": "victor", "role": "viewer", "password": True},
    ]
    proxied = runner.invoke(
        cli, [*ws, "user", "add", "sso.user@studio.example", "--role", "viewer", "--no-password"]
    )
    assert proxied.exit_code == 0 and load_users(path)["sso.user@studio.example"].password is None
    removed = runner.invoke(cli, [*ws, "user", "remove", "sso.user@studio.example"])
    assert removed.exit_code == 0
    removed = runner.invoke(cli, [*ws, "user", "remove", "victor"])
    assert removed.exit_code == 0 and set(load_users(path)) == {"alice"}
    assert not list(path.parent.glob(f".{USERS_NAME}.tmp-*"))  # written atomically


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["add", "bob", "--role", "approver", "--password-stdin"], "short\n", "at least 8"),
        (["add", "bob", "--role", "admin", "--password-stdin"], PASSWORD + "\n", "admin"),
        (["add", "../bob", "--role", "viewer", "--password-stdin"], PASSWORD + "\n", "invalid"),
        (["remove", "nobody"], None, "no user 'nobody'"),
    ],
    ids=["short-password", "unknown-role", "bad-name", "remove-unknown"],
)
def test_user_commands_refuse_bad_input_with_exit_2(runner, tmp_path, argv, stdin, message):
    ws = ["--workspace", str(init_workspace(tmp_path / "ws").root)]
    result = runner.invoke(cli, [*ws, "user", *argv], input=stdin)
    assert result.exit_code == 2 and message in result.stderr


def test_serve_refuses_to_start_without_users_and_binds_loopback_by_default(
    runner, tmp_path, monkeypatch
):
    root = init_workspace(tmp_path / "ws").root
    refused = runner.invoke(cli, ["--workspace", str(root), "serve"])
    assert refused.exit_code == 2 and "provgate user add" in refused.stderr
    save_users(root / USERS_NAME, {"alice": User("alice", "approver", hash_password(PASSWORD))})
    started: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: started.update(kw, app=app))
    result = runner.invoke(cli, ["--workspace", str(root), "serve"])
    assert result.exit_code == 0, result.output
    assert (started["host"], started["port"]) == ("127.0.0.1", 8765)
    assert started["proxy_headers"] is False
    assert "http://127.0.0.1:8765/" in result.stdout
    key = root / "keys" / SECRET_NAME
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_text()) == 64


# -- sign-in and sessions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/?status=any",
        "/checks",
        "/report",
        "/report.csv",
        "/report.html",
        "/nowhere",
        "/asset/" + "a" * 64,
        "/thumb/" + "a" * 64,
    ],
)
def test_anonymous_requests_are_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/")


def test_only_the_sign_in_page_and_static_files_are_public(client):
    assert client.get("/login").status_code == 200
    css = client.get("/static/review.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]


def test_anonymous_post_records_nothing(client, setup):
    ws, _, cid = setup
    token = csrf_of(client.get("/login").text)
    response = client.post(f"/asset/{cid}/approve", data={"csrf": token, "reference": "X"})
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert events(ws, "approved") == []


def test_sign_in_sets_a_signed_httponly_samesite_cookie(client):
    response = sign_in(client)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith(SESSION_COOKIE) and "httponly" in cookie
    assert "samesite=lax" in cookie and "path=/" in cookie
    page = client.get("/")
    assert page.status_code == 200 and "alice" in page.text and "approver" in page.text


@pytest.mark.parametrize(
    ("name", "password"),
    [("alice", "wrong password"), ("mallory", PASSWORD), ("", "")],
    ids=["wrong-password", "unknown-user", "empty"],
)
def test_a_failed_sign_in_says_so_and_opens_nothing(client, name, password):
    response = sign_in(client, name, password)
    assert response.status_code == 401 and "Wrong name or password" in response.text
    assert client.get("/").status_code == 303


def test_repeated_failed_sign_ins_are_throttled_even_with_the_right_password(client):
    for _ in range(5):
        assert sign_in(client, "alice", "guess").status_code == 401
    refused = sign_in(client, "alice", PASSWORD)
    assert refused.status_code == 429 and "Too many failed sign-ins" in refused.text
    assert client.get("/").status_code == 303  # still not signed in
    assert sign_in(client, "bob-the-viewer", "guess").status_code == 401  # others unaffected


def test_the_throttle_forgets_after_its_window():
    from cli.review.auth import SignInThrottle

    now = [0.0]
    throttle = SignInThrottle(limit=2, window=60, clock=lambda: now[0])
    throttle.failed("10.0.0.1", "alice")
    throttle.failed("10.0.0.1", "Alice")
    assert throttle.wait_seconds("10.0.0.1", "alice") == 60
    now[0] = 61
    assert throttle.wait_seconds("10.0.0.1", "alice") == 0


def test_a_forged_or_tampered_session_cookie_is_not_a_session(client, setup):
    ws = setup[0]
    sign_in(client, "victor")
    payload, stamp, signature = client.cookies[SESSION_COOKIE].split(".")
    claims = json.loads(base64.b64decode(payload))
    claims["user"] = "alice"  # the viewer tries to become the approver
    forged = base64.b64encode(json.dumps(claims).encode()).decode()
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, f"{forged}.{stamp}.{signature}")
    assert client.get("/").status_code == 303
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, f"{payload}.{stamp}.{signature[:-2]}xx")
    assert client.get("/").status_code == 303
    assert ws.root.joinpath("keys", SECRET_NAME).is_file()


def test_sign_out_ends_the_session(client):
    sign_in(client)
    token = csrf_of(client.get("/").text)
    response = client.post("/logout", data={"csrf": token})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert client.get("/").status_code == 303


def test_removing_a_user_or_changing_a_password_ends_their_session(client, setup):
    ws = setup[0]
    sign_in(client)
    assert client.get("/").status_code == 200
    users = load_users(ws.root / USERS_NAME)
    users["alice"] = User("alice", "approver", hash_password("a new password"))
    save_users(ws.root / USERS_NAME, users)
    assert client.get("/").status_code == 303
    sign_in(client, "alice", "a new password")
    assert client.get("/").status_code == 200
    del users["alice"]
    save_users(ws.root / USERS_NAME, users)
    assert client.get("/").status_code == 303


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil"])
def test_sign_in_never_redirects_off_site(client, target):
    token = csrf_of(client.get("/login").text)
    data = {"csrf": token, "name": "alice", "password": PASSWORD, "next": target}
    assert client.post("/login", data=data).headers["location"] == "/"


def test_sign_in_returns_to_the_page_asked_for(client, setup):
    cid = setup[2]
    login = client.get(f"/asset/{cid}").headers["location"]
    page = client.get(login)
    data = {
        "csrf": csrf_of(page.text),
        "name": "alice",
        "password": PASSWORD,
        "next": re.search(r'name="next" value="([^"]+)"', page.text).group(1),
    }
    assert client.post("/login", data=data).headers["location"] == f"/asset/{cid}"


def test_pages_forbid_framing_and_external_resources(client):
    sign_in(client)
    headers = client.get("/").headers
    assert "default-src 'none'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"


# -- the trusted proxy header -----------------------------------------------------------------

PROXY = ReviewSettings(trusted_header="X-Remote-User", trusted_proxies=("testclient",))


def test_a_trusted_proxy_header_signs_the_user_in(setup):
    ws, _, cid = setup
    with client_for(ws, PROXY) as client:
        page = client.get("/", headers={"X-Remote-User": "alice"})
        assert page.status_code == 200 and "alice" in page.text
        token = csrf_of(page.text)
        response = client.post(
            f"/asset/{cid}/approve",
            headers={"X-Remote-User": "alice"},
            data={"csrf": token, "reference": "LEGAL-7", "use": "temp"},
        )
        assert response.status_code == 303
    assert events(ws, "approved")[0]["detail"]["approver"] == "alice"


def test_the_proxy_header_still_needs_a_csrf_token_and_the_role(setup):
    ws, _, cid = setup
    with client_for(ws, PROXY) as client:
        token = csrf_of(client.get("/", headers={"X-Remote-User": "victor"}).text)
        viewer = client.post(
            f"/asset/{cid}/approve",
            headers={"X-Remote-User": "victor"},
            data={"csrf": token, "reference": "X"},
        )
        assert viewer.status_code == 403
        forged = client.post(
            f"/asset/{cid}/approve", headers={"X-Remote-User": "alice"}, data={"reference": "X"}
        )
        assert forged.status_code == 403
    assert events(ws, "approved") == []


def test_a_proxy_naming_an_unknown_user_is_refused(setup):
    with client_for(setup[0], PROXY) as client:
        response = client.get("/", headers={"X-Remote-User": "mallory"})
        assert response.status_code == 403 and "not a user" in response.text


@pytest.mark.parametrize(
    "settings",
    [ReviewSettings(), ReviewSettings(trusted_header="X-Remote-User")],
    ids=["header-not-enabled", "peer-not-a-trusted-proxy"],
)
def test_the_header_is_ignored_unless_enabled_and_from_a_trusted_proxy(setup, settings):
    with client_for(setup[0], settings) as client:
        assert client.get("/", headers={"X-Remote-User": "alice"}).status_code == 303


def test_the_header_setting_is_read_from_provgate_toml(tmp_path):
    ws, _, _ = make_workspace(tmp_path)
    config = ws.root / "provgate.toml"
    config.write_text(
        config.read_text() + '\n[review]\ntrusted_header = "X-Remote-User"\n'
        'trusted_proxies = ["testclient"]\n'
    )
    with client_for(ws) as client:
        assert client.get("/", headers={"X-Remote-User": "victor"}).status_code == 200


# -- the queue --------------------------------------------------------------------------------


def test_the_queue_lists_ai_material_with_its_evidence_and_thumbnail(client, setup):
    ws, show, cid = setup
    sign_in(client)
    page = client.get("/")
    assert page.status_code == 200
    assert "awaiting a decision" in page.text
    assert str(show / "sh010" / "comfyui.png") in page.text
    assert "ComfyUI" in page.text and "png-text" in page.text.lower()
    assert f'src="/thumb/{cid}"' in page.text
    thumb = client.get(f"/thumb/{cid}")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert thumb.content[:3] == b"\xff\xd8\xff"
    assert (ws.root / "thumbs" / f"{cid}.jpg").read_bytes() == thumb.content  # cached


@pytest.mark.parametrize(
    ("query", "listed"),
    [
        ({"tool": "ComfyUI"}, True),
        ({"tool": "Midjourney"}, False),
        ({"use": "temp"}, True),
        ({"use": "voice"}, False),
        ({"status": "temporary"}, True),
        ({"status": "approved"}, False),
        ({"status": "any"}, True),
        ({"path": "SHOW"}, True),
        ({"path": "SHOW/sh010/"}, True),
        ({"path": "SHOW/sh020/"}, False),
        ({"path": "/elsewhere/"}, False),
    ],
    ids=lambda v: json.dumps(v) if isinstance(v, dict) else str(v),
)
def test_the_queue_filters_by_tool_use_status_and_show_path(client, setup, query, listed):
    _, show, cid = setup
    sign_in(client)
    if "path" in query:
        query = {"path": query["path"].replace("SHOW", str(show))}
    page = client.get("/", params=query)
    assert page.status_code == 200
    assert (f"/asset/{cid}" in page.text) is listed


def test_a_broad_path_prefix_takes_the_index_walk_and_finds_the_same(client, setup, monkeypatch):
    _, show, cid = setup
    monkeypatch.setattr("provenance.stores.review.NARROW_PATHS", 0)
    sign_in(client)
    assert f"/asset/{cid}" in client.get("/", params={"path": str(show)}).text
    assert f"/asset/{cid}" not in client.get("/", params={"path": "/elsewhere/"}).text


def test_the_queue_is_paged_newest_first(tmp_path):
    ws, show, _ = make_workspace(tmp_path)
    copy_fixture("generators/a1111.jpg", show / "sh020")
    copy_fixture("generators/novelai.png", show / "sh030")
    with Store(ws.store_path) as store:
        api.scan([show], ws.config, store)
    with client_for(ws, ReviewSettings(page_size=2)) as client:
        sign_in(client)
        first = client.get("/")
        shown = re.findall(r'class="path" href="/asset/([0-9a-f]{64})"', first.text)
        assert len(shown) == 2
        older = re.search(r'href="(/\?[^"]*before=[^"]+)"', first.text)
        assert older, "no link to the next page"
        second = client.get(older.group(1).replace("&amp;", "&"))
        rest = re.findall(r'class="path" href="/asset/([0-9a-f]{64})"', second.text)
        assert len(rest) == 1 and not set(rest) & set(shown)
        assert "before=" not in second.text.split("« Newest")[-1]


def test_an_asset_without_a_preview_gets_a_placeholder(client, setup):
    ws = setup[0]
    cid = "b" * 64
    with Store(ws.store_path) as store:
        store.conn.execute(
            "INSERT INTO assets (content_id, media_type, size, origin, status, first_seen,"
            " updated_at) VALUES (?, 'video/mp4', 10, 'ai-generated', 'temporary', 'x', 'x')",
            (cid,),
        )
    sign_in(client)
    response = client.get(f"/thumb/{cid}")
    assert response.status_code == 200 and response.headers["content-type"] == "image/svg+xml"
    assert b"video" in response.content
    assert client.get("/thumb/" + "c" * 64).status_code == 404
    assert client.get("/thumb/not-a-content-id").status_code == 404


# -- the asset page ---------------------------------------------------------------------------


def test_the_asset_page_shows_paths_evidence_history_and_the_approval_form(client, setup):
    _, show, cid = setup
    sign_in(client)
    page = client.get(f"/asset/{cid}")
    assert page.status_code == 200
    text = page.text
    assert cid in text and str(show / "sh010" / "comfyui.png") in text
    assert "generator:comfyui" in text
    assert "Record a written approval" in text and 'name="csrf"' in text
    assert ">seen<" in text or ">tagged<" in text  # the history table
    assert "No recorded check has blocked it" in text


def test_unknown_or_malformed_assets_are_404(client):
    sign_in(client)
    assert client.get("/asset/" + "d" * 64).status_code == 404
    assert client.get("/nowhere").status_code == 404
    missing = client.get("/asset/provgate.db")
    assert missing.status_code == 404 and "full content id" in missing.text


def test_a_viewer_reads_but_cannot_approve(client, setup):
    ws, show, cid = setup
    sign_in(client, "victor")
    page = client.get(f"/asset/{cid}")
    assert page.status_code == 200 and f"/asset/{cid}/approve" not in page.text
    token = csrf_of(page.text)
    data = {"csrf": token, "reference": "LEGAL-1", "use": "temp"}
    response = client.post(f"/asset/{cid}/approve", data=data)
    assert response.status_code == 403 and "Only approvers" in response.text
    revoke = client.post(
        f"/asset/{cid}/revoke", data={"csrf": token, "reference": "LEGAL-1", "reason": "x"}
    )
    assert revoke.status_code == 403
    assert events(ws, "approved") == [] and gate_verdict(ws, show) == "blocked"


@pytest.mark.parametrize(
    "form", [{}, {"csrf": "forged-token"}, {"csrf": ""}], ids=["missing", "wrong", "empty"]
)
@pytest.mark.parametrize("action", ["approve", "revoke", "logout", "login"])
def test_every_form_rejects_a_missing_or_wrong_csrf_token(client, setup, form, action):
    ws, _, cid = setup
    sign_in(client)
    data = {
        **form,
        "reference": "LEGAL-1",
        "reason": "x",
        "use": "temp",
        "name": "alice",
        "password": PASSWORD,
    }
    url = {"approve": f"/asset/{cid}/approve", "revoke": f"/asset/{cid}/revoke"}.get(
        action, f"/{action}"
    )
    response = client.post(url, data=data)
    assert response.status_code == 403 and "CSRF" in response.text
    assert events(ws, "approved") == []
    assert client.get("/").status_code == 200  # still signed in


def test_approving_on_the_page_records_the_cli_event_and_clears_the_gate(client, setup):
    ws, show, cid = setup
    assert gate_verdict(ws, show) == "blocked"
    sign_in(client)
    data = {
        "csrf": form_token(client, cid),
        "reference": "LEGAL-42",
        "use": "vfx-final",
        "consent": "",
        "expires": "2999-12-31",
        "note": "final comp, shot 10",
    }
    response = client.post(f"/asset/{cid}/approve", data=data)
    assert response.status_code == 303
    current = response.headers["location"].rsplit("/", 1)[-1]
    approved = events(ws, "approved")
    # the approval, then its carry onto the bytes the tag rewrite made (an event of its own)
    assert [e["content_id"] for e in approved] == [cid, current]
    assert approved[1]["detail"]["carried_from"] == cid
    detail = approved[0]["detail"]
    assert (detail["reference"], detail["approver"], detail["use"], detail["expires"]) == (
        "LEGAL-42",
        "alice",
        "vfx-final",
        "2999-12-31",
    )
    assert gate_verdict(ws, show) == "pass"
    page = client.get(f"/asset/{current}")
    assert "Approved under LEGAL-42 by alice" in page.text  # the confirmation, shown once
    assert "LEGAL-42" in page.text and ">approved<" in page.text
    assert "Approved under" not in client.get(f"/asset/{current}").text
    assert current != cid  # the tag rewrite made new bytes: the old page points to them
    old = client.get(f"/asset/{cid}").text
    assert "no longer on disk" in old and f'href="/asset/{current}"' in old


def test_a_deleted_file_leaves_the_queue_and_shows_as_an_earlier_location(client, setup):
    ws, show, cid = setup
    (show / "sh010" / "comfyui.png").unlink()
    with Store(ws.store_path) as store:
        api.scan([show], ws.config, store)
    sign_in(client)
    assert f"/asset/{cid}" not in client.get("/").text
    page = client.get(f"/asset/{cid}")
    assert "1 earlier location" in page.text and "No live file holds these bytes" in page.text


def _approval_facts(ws: Workspace) -> tuple[list[str], list[tuple]]:
    with Store(ws.store_path) as store:
        kinds = [
            r[0]
            for r in store.conn.execute(
                "SELECT kind FROM events WHERE seq > (SELECT max(seq) FROM events"
                " WHERE kind = 'checked') ORDER BY seq"
            )
        ]
        rows = [
            tuple(r)
            for r in store.conn.execute(
                "SELECT reference, approver, use_category, consent, expires, note,"
                " carried_from IS NOT NULL, revoked_at FROM approvals ORDER BY id"
            )
        ]
    return kinds, rows


def test_a_page_approval_is_exactly_a_cli_approval(tmp_path, runner):
    """The same asset approved on the page in one workspace and with `provgate approve` in
    another: the same events, the same approval rows, the same gate verdict."""
    outcomes = []
    for how in ("page", "cli"):
        ws, show, cid = make_workspace(tmp_path / how)
        assert gate_verdict(ws, show) == "blocked"
        if how == "page":
            with client_for(ws) as client:
                sign_in(client)
                data = {
                    "csrf": form_token(client, cid),
                    "reference": "LEGAL-9",
                    "use": "talent-likeness",
                    "consent": "SAG-CONSENT-3",
                }
                assert client.post(f"/asset/{cid}/approve", data=data).status_code == 303
        else:
            result = runner.invoke(
                cli,
                [
                    "--workspace",
                    str(ws.root),
                    "approve",
                    cid[:16],
                    "--ref",
                    "LEGAL-9",
                    "--by",
                    "alice",
                    "--use",
                    "talent-likeness",
                    "--consent",
                    "SAG-CONSENT-3",
                ],
            )
            assert result.exit_code == 0, result.output
        facts = _approval_facts(ws)
        assert gate_verdict(ws, show) == "pass"
        outcomes.append(facts)
    assert outcomes[0] == outcomes[1]
    assert "approved" in outcomes[0][0] and len(outcomes[0][1]) == 2  # original + carried


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"use": "voice", "consent": ""}, "needs a consent reference"),
        ({"use": "talent-likeness"}, "needs a consent reference"),
        ({"expires": "next tuesday"}, "is not a date"),
        ({"reference": "  "}, "needs a reference"),
        ({"use": "made-up"}, "unknown use category"),
    ],
    ids=[
        "voice-without-consent",
        "likeness-without-consent",
        "bad-date",
        "no-reference",
        "unknown-use",
    ],
)
def test_the_library_rules_refuse_an_approval_and_the_form_keeps_its_values(
    client, setup, fields, message
):
    ws, show, cid = setup
    sign_in(client)
    data = {
        "csrf": form_token(client, cid),
        "reference": "LEGAL-5",
        "use": "temp",
        "note": "typed by hand",
        **fields,
    }
    response = client.post(f"/asset/{cid}/approve", data=data)
    assert response.status_code == 400 and message in response.text
    assert "typed by hand" in response.text
    assert events(ws, "approved") == [] and gate_verdict(ws, show) == "blocked"


def test_consent_references_are_one_per_line(client, setup):
    ws, show, cid = setup
    sign_in(client)
    data = {
        "csrf": form_token(client, cid),
        "reference": "LEGAL-6",
        "use": "voice",
        "consent": "VOICE-1\nVOICE-2, VOICE-3",
    }
    assert client.post(f"/asset/{cid}/approve", data=data).status_code == 303
    assert events(ws, "approved")[0]["detail"]["consent"] == ["VOICE-1", "VOICE-2", "VOICE-3"]
    assert gate_verdict(ws, show) == "pass"


def test_revoking_on_the_page_blocks_the_gate_again(client, setup):
    ws, show, cid = setup
    sign_in(client)
    data = {"csrf": form_token(client, cid), "reference": "LEGAL-8", "use": "temp"}
    current = client.post(f"/asset/{cid}/approve", data=data).headers["location"]
    page = client.get(current)
    assert "Revoke an approval" in page.text
    response = client.post(
        f"{current}/revoke",
        data={"csrf": csrf_of(page.text), "reference": "LEGAL-8", "reason": "talent withdrew"},
    )
    assert response.status_code == 303
    revoked = events(ws, "revoked")
    assert revoked and revoked[0]["detail"].pop("signature")["alg"] == "es256"  # the clearance's
    assert revoked[0]["detail"] == {
        "reference": "LEGAL-8",
        "by": "alice",
        "reason": "talent withdrew",
    }
    assert gate_verdict(ws, show) == "blocked"
    after = client.get(response.headers["location"])
    assert "revoked by alice" in after.text and ">revoked<" in after.text


def test_revoking_an_unknown_reference_is_refused_on_the_page(client, setup):
    _, _, cid = setup
    sign_in(client)
    data = {"csrf": form_token(client, cid), "reference": "NOPE-1", "reason": "x"}
    response = client.post(f"/asset/{cid}/revoke", data=data)
    assert response.status_code == 400 and "no active approval" in response.text


# -- checks and the report --------------------------------------------------------------------


def test_checks_page_and_asset_page_show_the_checks_that_blocked_it(client, setup):
    ws, show, cid = setup
    assert gate_verdict(ws, show) == "blocked"
    sign_in(client)
    checks = client.get("/checks")
    assert checks.status_code == 200
    assert str(show) in checks.text and ">blocked<" in checks.text
    assert f'href="/asset/{cid}"' in checks.text
    page = client.get(f"/asset/{cid}")
    assert "No recorded check has blocked it" not in page.text and str(show) in page.text


def test_a_passing_check_shows_its_verdict(client, setup):
    ws, show, cid = setup
    with Store(ws.store_path) as store:
        api.approve([cid], ws.config, store, reference="LEGAL-1", by="alice")
    assert gate_verdict(ws, show) == "pass"
    sign_in(client)
    assert ">pass<" in client.get("/checks").text


def test_the_report_page_and_downloads(client, setup):
    _, show, cid = setup
    path = str(show / "sh010" / "comfyui.png")
    sign_in(client)
    page = client.get("/report")
    assert page.status_code == 200 and path in page.text and "1 AI asset" in page.text
    assert 'href="/report.csv"' in page.text and 'href="/report.html"' in page.text
    csv_download = client.get("/report.csv")
    assert csv_download.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv_download.headers["content-disposition"]
    assert csv_download.text.startswith("content_id,paths,") and path in csv_download.text
    html_download = client.get("/report.html")
    assert "attachment" in html_download.headers["content-disposition"]
    assert "AI disclosure report" in html_download.text and path in html_download.text


def test_text_from_files_is_escaped_on_every_page(client, setup):
    ws, _, cid = setup
    hostile = "<script>alert(1)</script>"
    with Store(ws.store_path) as store:
        store.conn.execute("UPDATE assets SET tool = ? WHERE content_id = ?", (hostile, cid))
        store.conn.execute("UPDATE evidence SET detail = ? WHERE content_id = ?", (hostile, cid))
    sign_in(client)
    for url in ("/", f"/asset/{cid}", "/report", "/?status=any"):
        text = client.get(url).text
        assert hostile not in text, url
        assert "&lt;script&gt;" in text, url


def test_the_secret_key_is_made_once_and_reused(setup):
    ws = setup[0]
    with client_for(ws) as first:
        sign_in(first)
        cookie = first.cookies[SESSION_COOKIE]
    key = (ws.keys_dir / SECRET_NAME).read_text()
    with client_for(ws) as second:  # a restarted server accepts the same session
        second.cookies.set(SESSION_COOKIE, cookie)
        assert second.get("/").status_code == 200
    assert (ws.keys_dir / SECRET_NAME).read_text() == key
    assert os.stat(ws.keys_dir / SECRET_NAME).st_mode & 0o077 == 0


# -- thumbnails -------------------------------------------------------------------------------


def _row(path: Path, cid: str) -> FileRow:
    st = path.stat()
    return FileRow(str(path), cid, st.st_size, st.st_mtime_ns, st.st_ino, False)


def test_a_thumbnail_is_never_made_from_a_file_that_changed_since_it_was_recorded(tmp_path):
    still = copy_fixture("generators/comfyui.png", tmp_path / "show")
    row = _row(still, "e" * 64)
    still.write_bytes(still.read_bytes() + b"\0")  # other bytes now: not this content
    thumbs = Thumbnails(tmp_path / "thumbs")
    assert thumbs.get("e" * 64, "image/png", [row]) is None
    assert not (tmp_path / "thumbs" / ("e" * 64 + ".jpg")).exists()


def test_a_video_gets_its_first_frame_when_pyav_is_installed(tmp_path):
    av = pytest.importorskip("av", reason="PyAV is optional; without it videos get a placeholder")
    clip = tmp_path / "clip.mp4"
    with av.open(str(clip), "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        frame = av.VideoFrame.from_image(Image.new("RGB", (64, 48), (200, 30, 30)))
        for packet in [*stream.encode(frame), *stream.encode()]:
            out.mux(packet)
    made = Thumbnails(tmp_path / "thumbs").get("a" * 64, "video/mp4", [_row(clip, "a" * 64)])
    assert made is not None
    with Image.open(made) as thumb:
        assert thumb.format == "JPEG" and thumb.getpixel((32, 24))[0] > 150


# -- issue 17: the throttle is bounded, sign-out is server-side, the proxy header is strict ------


def test_the_throttle_stays_bounded_under_endless_made_up_names():
    from cli.review.auth import SignInThrottle

    now = [0.0]
    throttle = SignInThrottle(clock=lambda: now[0], max_entries=1000)
    for i in range(20_000):
        throttle.failed(f"10.0.{i % 7}.1", f"user{i}" + "x" * (i % 300))
        now[0] += 0.001
    assert len(throttle) <= 1000
    # one address spraying names is refused whatever name it tries next
    assert throttle.wait_seconds("10.0.0.1", "alice") > 0
    assert throttle.wait_seconds("10.9.9.9", "alice") == 0
    now[0] += 901
    throttle.failed("10.9.9.9", "bob")
    assert throttle.wait_seconds("10.0.0.1", "alice") == 0  # expired, and forgotten
    assert len(throttle) <= 1000


def test_a_session_cookie_stops_working_after_sign_out(client):
    sign_in(client)
    cookie = client.cookies.get(SESSION_COOKIE)
    assert client.get("/").status_code == 200
    token = csrf_of(client.get("/").text)
    assert client.post("/logout", data={"csrf": token}).status_code == 303
    client.cookies.set(SESSION_COOKIE, cookie)  # the copy an attacker kept
    assert client.get("/").status_code == 303


def test_trusted_header_without_an_explicit_proxy_list_is_refused(tmp_path):
    from provenance.errors import ConfigError

    ws, _, _ = make_workspace(tmp_path)
    config = ws.root / "provgate.toml"
    config.write_text(config.read_text() + '\n[review]\ntrusted_header = "X-Remote-User"\n')
    with pytest.raises(ConfigError, match="trusted_header needs trusted_proxies"):
        load_settings(config)
    result = CliRunner().invoke(cli, ["--workspace", str(ws.root), "serve", "--port", "1"])
    assert result.exit_code == 2 and "trusted_proxies" in result.stderr


def test_a_duplicated_proxy_header_is_refused(setup):
    with client_for(setup[0], PROXY) as client:
        response = client.get(
            "/", headers=[("X-Remote-User", "victor"), ("X-Remote-User", "alice")]
        )
        assert response.status_code == 403 and "given 2 times" in response.text


def test_every_page_shows_a_name_that_is_not_utf8_escaped(tmp_path):
    """A name with a byte that is not UTF-8, an ESC and a newline: every page is served (it
    could not be encoded before), the name shown as `ls` shows it, nothing raw."""
    ws, show, _ = make_workspace(tmp_path)
    raw = os.path.join(os.fsencode(show), b"odd_\xff\x1b[31m\nname.png")
    with open(raw, "wb") as out:
        out.write((show / "sh010" / "comfyui.png").read_bytes() + b"\0")
    with Store(ws.store_path) as store:
        api.scan([show], ws.config, store)
        cid = store.file(os.fsdecode(raw)).content_id
    with client_for(ws) as client:
        sign_in(client)
        for url in ("/", f"/asset/{cid}", "/report", "/undeclared", "/report.html", "/report.csv"):
            page = client.get(url)
            assert page.status_code == 200, url
            assert "\x1b" not in page.text and "\udcff" not in page.text, url
            assert "odd_\\xff\\x1b[31m\\x0aname.png" in page.text, url
