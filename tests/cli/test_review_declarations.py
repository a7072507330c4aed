"""Declared uses on the review page, through Starlette's test client on a real workspace:
the declaration form, what was found under a declaration, the undeclared view, a tool not
cleared, state changes by approvers only, and that the page and the CLI see one record."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cli.main import cli
from provenance import api
from provenance.stores import Store
from provenance.workspace import open_workspace
from tests.cli.test_review import client_for, csrf_of, make_workspace, sign_in
from tests.conftest import copy_fixture


@pytest.fixture
def setup(tmp_path: Path):
    """The review workspace (a ComfyUI still in show/sh010) plus an AUTOMATIC1111 still in
    show/sh020, both scanned."""
    ws, show, cid = make_workspace(tmp_path)
    copy_fixture("generators/a1111.png", show / "sh020")
    with Store(ws.store_path) as store:
        api.scan([show], ws.config, store)
    return ws, show, cid


def declare_on_page(client, **fields: str):
    token = csrf_of(client.get("/declarations").text)
    data = {"csrf": token, "use": "ideation", **fields}
    return client.post("/declarations", data=data)


def test_an_approver_declares_on_the_page_and_sees_what_was_found_under_it(setup, runner):
    ws, show, _ = setup
    with client_for(ws) as client:
        sign_in(client)
        made = declare_on_page(
            client,
            tool="ComfyUI",
            tool_version="0.3",
            purpose="matte painting ideas",
            shot="sh010",
            folder=f"{show}/nowhere",
            talent="on",
        )
        assert made.status_code == 303 and made.headers["location"] == "/declaration/D-0001"
        page = client.get("/declaration/D-0001")
        assert page.status_code == 200
        assert "Declared D-0001 (needs-approval)." in page.text  # talent: never merely noted
        assert "matte painting ideas" in page.text and "talent" in page.text
        found = page.text.split("<h2>Found under it (1)</h2>")[1].split("</table>")[0]
        assert f"{show}/sh010/comfyui.png" in found and "a1111.png" not in found
        listing = client.get("/declarations").text
        assert "D-0001" in listing and "<td>1</td>" in listing
    # the page and the CLI read one record
    shown = runner.invoke(
        cli, ["--workspace", str(ws.root), "declarations", "show", "D-0001", "--json"]
    )
    record = json.loads(shown.stdout)
    assert record["declaration"]["declared_by"] == "alice"
    assert record["declaration"]["scope"] == [
        {"kind": "shot", "value": "sh010"},
        {"kind": "folder", "value": f"{show}/nowhere"},
    ]
    assert record["history"][0]["kind"] == "declared"


def test_the_undeclared_view_lists_ai_material_no_declaration_covers(setup):
    ws, show, cid = setup
    with client_for(ws) as client:
        sign_in(client, "victor")  # a viewer reads it
        before = client.get("/undeclared").text
        assert "comfyui.png" in before and "a1111.png" in before
        with Store(ws.store_path) as store:
            from provenance.history.declarations import ScopeEntry

            api.declare(
                store,
                ws.config,
                tool="ComfyUI",
                purpose="ideas",
                use="ideation",
                scope=[ScopeEntry("shot", "sh010")],
                by="jo",
            )
        after = client.get("/undeclared").text
        table = after.split("<tbody>")[1]
        assert "a1111.png" in table and "comfyui.png" not in table
        assert "(1): nobody told the studio" in after
        current = client.get("/").text
        comfy = re.search(r'href="/asset/([0-9a-f]{64})"[^>]*>[^<]*sh010', current)
        asset = client.get(f"/asset/{comfy.group(1) if comfy else cid}").text
        assert 'href="/declaration/D-0001">D-0001</a> (noted: ideas)' in asset


def test_a_tool_not_cleared_is_flagged_on_the_page(setup):
    ws, show, _ = setup
    config = ws.root / "provgate.toml"
    config.write_text(
        config.read_text("utf-8").replace("[policy]\n", '[policy]\ncleared_tools = ["ComfyUI"]\n'),
        "utf-8",
    )
    ws = open_workspace(ws.root)
    with client_for(ws) as client:
        sign_in(client)
        declare_on_page(client, tool="Midjourney", purpose="sky", sequence="sq01")
        listing = client.get("/declarations").text
        assert "tool not cleared: Midjourney (cleared: ComfyUI)" in listing
        undeclared = client.get("/undeclared").text
        assert "tool not cleared: AUTOMATIC1111 (cleared: ComfyUI)" in undeclared
        assert "tool not cleared: ComfyUI" not in undeclared


def test_state_changes_on_the_page_need_an_approver_and_keep_the_rules(setup):
    ws, _, _ = setup
    with client_for(ws) as client:
        sign_in(client)
        declare_on_page(client, tool="Firefly", purpose="hero sky", use="vfx-final", shot="sh010")
        page = client.get("/declaration/D-0001").text
        token = csrf_of(page)
        assert 'action="/declaration/D-0001/approve"' in page
        refused = client.post("/declaration/D-0001/approve", data={"csrf": token})
        assert refused.status_code == 400 and "needs the studio&#39;s reference" in refused.text
        done = client.post(
            "/declaration/D-0001/approve", data={"csrf": token, "reference": "STU-4"}
        )
        assert done.status_code == 303
        assert "D-0001 is now approved." in client.get("/declaration/D-0001").text
        no_csrf = client.post("/declaration/D-0001/withdraw", data={"note": "x"})
        assert no_csrf.status_code == 403
    with client_for(ws) as viewer:
        sign_in(viewer, "victor")
        page = viewer.get("/declarations").text
        assert "declaring needs the approver role" in page and 'name="tool"' not in page
        token = csrf_of(page)
        assert viewer.post("/declaration/D-0001/withdraw", data={"csrf": token}).status_code == 403
        made = viewer.post("/declarations", data={"csrf": token, "tool": "x", "purpose": "y"})
        assert made.status_code == 403
        assert viewer.get("/declaration/D-9999").status_code == 404
        assert viewer.get("/declaration/D-1%3Cscript%3E").status_code == 404


def test_a_declaration_form_that_says_too_little_keeps_what_was_typed(setup):
    ws, _, _ = setup
    with client_for(ws) as client:
        sign_in(client)
        bad = declare_on_page(client, tool="Firefly", purpose="sky <b>", third_party="on")
        assert bad.status_code == 400
        assert "Not declared: a declaration needs a scope" in bad.text
        assert 'value="sky &lt;b&gt;"' in bad.text and 'name="third_party" checked' in bad.text
        relative = declare_on_page(client, tool="Firefly", purpose="sky", folder="sq01")
        assert relative.status_code == 400 and "must be an absolute path" in relative.text
        assert "Nothing has been declared yet." in client.get("/declarations").text


def test_the_downloaded_report_has_a_section_per_declaration_and_the_undeclared(setup):
    ws, _, _ = setup
    with client_for(ws) as client:
        sign_in(client)
        declare_on_page(client, tool="ComfyUI", purpose="matte ideas", shot="sh010")
        page = client.get("/report.html").text
        declared, undeclared = page.split("<h2>Undeclared AI material (1)</h2>")
        assert "D-0001: matte ideas" in declared and "sh010/comfyui.png" in declared
        assert "a1111.png" in undeclared and "comfyui.png" not in undeclared
        assert 'href="/undeclared"' in client.get("/report").text
