"""One file, one origin and one status in every view (issue 15), through the CLI.

Each test is a contradiction a new user met: the gate and the store deciding differently,
a "to clear" line that could not be pasted, an expired approval that read `approved`, provgate
named as the AI tool, a first sighting that moved with every tag rewrite.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from freezegun import freeze_time
from PIL import Image

from cli.main import cli
from tests.conftest import copy_fixture


@pytest.fixture
def ws(runner, tmp_path: Path) -> list[str]:
    root = tmp_path / "ws"
    assert runner.invoke(cli, ["init", str(root)]).exit_code == 0
    return ["--workspace", str(root)]


def _run(runner, *args: str, code: int = 0):
    result = runner.invoke(cli, list(args))
    assert result.exit_code == code, result.output
    return result


def _stripped_copy(src: Path, dest: Path) -> Path:
    """A re-save of an image as JPEG at 60 %: no metadata survives, the picture does."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(src) as img:
        img.convert("RGB").save(dest, "JPEG", quality=60)
    return dest


@pytest.fixture
def ai_still(runner, ws, tmp_path: Path) -> Path:
    """A ComfyUI still the store knows as AI (scanned, so its fingerprint is kept)."""
    still = copy_fixture("generators/comfyui.png", tmp_path / "show" / "sh010")
    _run(runner, *ws, "scan", "--no-tag", str(still.parent))
    return still


def _ls(runner, ws, under: Path) -> list[dict]:
    return json.loads(_run(runner, *ws, "ls", "--json", "--under", str(under)).output)


def _clear_line(output: str) -> str:
    found = re.search(r"provgate approve (\S+) --ref TICKET --by NAME", output)
    assert found, output
    return found.group(1)


def test_a_stripped_copy_recorded_by_scan_is_ai_and_stays_blocked(runner, ws, ai_still, tmp_path):
    delivery = tmp_path / "delivery"
    copy = _stripped_copy(ai_still, delivery / "sh010_comp.jpg")
    original = _ls(runner, ws, ai_still.parent)[0]["content_id"]

    _run(runner, *ws, "scan", "--no-tag", str(delivery))

    (row,) = _ls(runner, ws, delivery)
    assert row["origin"] == "ai-generated"
    assert row["status"] == "temporary"
    info = json.loads(_run(runner, *ws, "inspect", "--json", str(copy)).output)
    assert info["origin"] == "ai-generated"
    near = [e for e in info["evidence"] if e["source"] == "similar"]
    assert near and re.match(rf"near-duplicate of {original} \(distance \d+\)", near[0]["detail"])
    # The exact content id is now known to the store: the gate must still block it.
    result = _run(runner, *ws, "check", str(delivery), code=1)
    assert "BLOCKED" in result.output and "sh010_comp.jpg" in result.output


def test_the_gates_clear_line_works_when_pasted_for_a_copy_the_store_never_saw(
    runner, ws, ai_still, tmp_path
):
    delivery = tmp_path / "delivery"
    _stripped_copy(ai_still, delivery / "sh010_comp.jpg")
    blocked = _run(runner, *ws, "check", str(delivery), code=1)
    prefix = _clear_line(blocked.output)

    _run(runner, *ws, "approve", prefix, "--ref", "LEGAL-7", "--by", "Dana")

    passed = _run(runner, *ws, "check", str(delivery))
    assert "PASS" in passed.output and "LEGAL-7" in passed.output


def test_an_approval_binds_to_the_bytes_the_clear_line_names(runner, ws, ai_still, tmp_path):
    delivery = tmp_path / "delivery"
    copy = _stripped_copy(ai_still, delivery / "sh010_comp.jpg")
    prefix = _clear_line(_run(runner, *ws, "check", str(delivery), code=1).output)
    _run(runner, *ws, "approve", prefix, "--ref", "LEGAL-7", "--by", "Dana")
    _stripped_copy(ai_still, copy).write_bytes(copy.read_bytes() + b"\0")  # one byte more

    result = _run(runner, *ws, "check", str(delivery), code=1)
    assert "without a valid written approval" in result.output


def test_a_source_plate_recorded_before_the_ai_edit_made_from_it_still_passes(runner, ws, tmp_path):
    """The near-duplicate rule's exception: the plate predates the AI asset."""
    still = copy_fixture("generators/comfyui.png", tmp_path / "gen")
    plate = _stripped_copy(still, tmp_path / "plates" / "sh010_plate.jpg")
    _run(runner, *ws, "scan", "--no-tag", str(plate.parent))  # the plate is recorded first
    _run(runner, *ws, "scan", "--no-tag", str(still.parent))  # then the AI edit appears

    result = _run(runner, *ws, "check", str(plate.parent))
    assert "PASS" in result.output
    info = json.loads(_run(runner, *ws, "inspect", "--json", str(plate)).output)
    assert info["origin"] == "unknown"
    relation = [e["detail"] for e in info["evidence"] if e["source"] == "similar"]
    assert relation and "before that AI asset existed" in relation[0]
    assert _ls(runner, ws, plate.parent)[0]["origin"] == "unknown"


def test_a_person_stating_non_ai_outweighs_a_near_match(runner, ws, ai_still, tmp_path):
    delivery = tmp_path / "delivery"
    copy = _stripped_copy(ai_still, delivery / "sh010_plate.jpg")
    _run(runner, *ws, "tag", str(copy), "--origin", "non-ai", "--note", "shot on set")

    result = _run(runner, *ws, "check", str(delivery))
    assert "PASS" in result.output


def _approved(runner, ws, ai_still: Path, *extra: str) -> str:
    cid = _ls(runner, ws, ai_still.parent)[0]["content_id"]
    _run(runner, *ws, "approve", cid, "--ref", "LEGAL-1", "--by", "Dana", *extra)
    return cid


def test_an_expired_approval_reads_expired_in_every_view(runner, ws, ai_still, tmp_path):
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    _approved(runner, ws, ai_still, "--expires", tomorrow)
    assert _ls(runner, ws, ai_still.parent)[0]["status"] == "approved"

    with freeze_time(date.today() + timedelta(days=3)):
        assert _ls(runner, ws, ai_still.parent)[0]["status"] == "expired"
        table = _run(runner, *ws, "ls", "--under", str(ai_still.parent)).output
        assert "expired" in table
        expired = _run(runner, *ws, "ls", "--status", "expired", "--json").output
        assert len(json.loads(expired)) == 1
        (row,) = json.loads(_run(runner, *ws, "report", "--format", "json").output)
        assert row["status"] == "expired" and f"expired on {tomorrow}" in row["status_reason"]
        csv_report = _run(runner, *ws, "report", "--format", "csv").output
        assert ",expired," in csv_report
        html = _run(runner, *ws, "report", "--format", "html").output
        assert "<td>expired</td>" in html
        info = json.loads(_run(runner, *ws, "inspect", "--json", str(ai_still)).output)
        assert info["status"] == "expired"
        assert info["approvals"][-1]["state"] == f"expired {tomorrow}"
        text = _run(runner, *ws, "inspect", str(ai_still)).output
        assert "status      expired" in text and "(expired " in text
        blocked = _run(runner, *ws, "check", str(ai_still), code=1)
        assert f"expired on {tomorrow}" in blocked.output


def test_a_revoked_approval_reads_revoked_with_its_reason(runner, ws, ai_still):
    cid = _approved(runner, ws, ai_still)
    _run(runner, *ws, "revoke", cid, "--ref", "LEGAL-1", "--by", "Dana", "--reason", "recast")
    (row,) = json.loads(_run(runner, *ws, "report", "--format", "json").output)
    assert row["status"] == "revoked"
    assert "revoked by Dana: recast" in row["status_reason"]
    html = _run(runner, *ws, "report", "--format", "html").output
    assert "revoked by Dana: recast" in html
    assert _ls(runner, ws, ai_still.parent)[0]["status"] == "revoked"


def test_provgate_never_names_itself_as_the_ai_tool(runner, ws, tmp_path):
    still = tmp_path / "show" / "sh070_matte.png"
    still.parent.mkdir(parents=True)
    Image.new("RGB", (64, 48), (90, 120, 200)).save(still)
    _run(runner, *ws, "tag", str(still), "--origin", "ai-generated")  # no --tool

    info = json.loads(_run(runner, *ws, "inspect", "--json", str(still)).output)
    assert info["tool"] == "unknown tool"
    actions = [e["detail"] for e in info["evidence"] if e["marker"].startswith("dst:")]
    assert actions and not any("by provgate" in a for a in actions)
    (row,) = json.loads(_run(runner, *ws, "report", "--format", "json").output)
    assert row["tool"] == "unknown tool"
    assert "unknown tool" in _run(runner, *ws, "check", str(still), code=1).output


def test_first_seen_is_the_lineages_first_sighting_across_tag_rewrites(runner, ws, tmp_path):
    still = copy_fixture("generators/comfyui.png", tmp_path / "show")
    with freeze_time("2026-01-05 10:00:00"):
        _run(runner, *ws, "scan", "--no-tag", str(still.parent))
    first = _ls(runner, ws, still.parent)[0]["first_seen"]
    scanned = _ls(runner, ws, still.parent)[0]["content_id"]
    (row,) = json.loads(_run(runner, *ws, "report", "--format", "json").output)
    assert row["first_seen"].startswith("2026-01-05")

    _run(runner, *ws, "scan", str(still.parent))  # tags the file: new bytes
    _run(runner, *ws, "approve", str(still), "--ref", "LEGAL-1", "--by", "Dana")  # again

    (row,) = json.loads(_run(runner, *ws, "report", "--format", "json").output)
    assert row["content_id"] != scanned  # the live bytes are provgate's rewrite
    assert row["first_seen"].startswith("2026-01-05"), row
    assert _ls(runner, ws, still.parent)[0]["first_seen"] == first


def test_a_copy_met_in_the_same_first_scan_as_its_original_is_blocked_and_then_listed_as_ai(
    runner, ws, tmp_path
):
    """A first scan does not compare stills with AI found in the same scan (decoding every
    image would cost more than the scan); the gate compares them, blocks, and records it."""
    show = tmp_path / "show"
    still = copy_fixture("generators/comfyui.png", show / "a_gen")
    _stripped_copy(still, show / "b_comp" / "sh010_comp.jpg")
    _run(runner, *ws, "scan", "--no-tag", str(show))  # original first, copy after
    assert _ls(runner, ws, show / "b_comp")[0]["origin"] == "unknown"  # not compared yet

    report = _run(runner, *ws, "check", "--format", "json", str(show / "b_comp"), code=1)
    (asset,) = json.loads(report.output)["assets"]
    assert any(e["detail"].startswith("near-duplicate of") for e in asset["evidence"])
    result = _run(runner, *ws, "check", str(show / "b_comp"), code=1)
    (row,) = _ls(runner, ws, show / "b_comp")
    assert row["origin"] == "ai-generated"  # the store now says what the gate decided
    from provenance.stores import Store

    with Store(Path(ws[1]) / "provgate.db") as store:
        assert store.asset(row["content_id"])["phash"]  # fingerprinted once, kept
    prefix = _clear_line(result.output)
    _run(runner, *ws, "approve", prefix, "--ref", "LEGAL-9", "--by", "Dana")
    assert "PASS" in _run(runner, *ws, "check", str(show / "b_comp")).output
