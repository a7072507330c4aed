"""scan, inspect, tag, ls, history, report, check and log verify as a user runs them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from cli.main import cli
from provenance.stores import Store
from tests.conftest import copy_fixture


@pytest.fixture
def ws(runner, tmp_path: Path) -> list[str]:
    root = tmp_path / "ws"
    assert runner.invoke(cli, ["init", str(root)]).exit_code == 0
    return ["--workspace", str(root)]


@pytest.fixture
def show(tmp_path: Path) -> Path:
    root = tmp_path / "show"
    copy_fixture("generators/comfyui.png", root / "sh010")
    copy_fixture("generators/a1111.jpg", root / "sh020")
    copy_fixture("c2pa/no_manifest.jpg", root / "sh010")
    return root


def test_scan_json_prints_one_object_per_new_file_then_one_summary(runner, ws, show):
    first = runner.invoke(cli, [*ws, "scan", "--json", str(show)])
    assert first.exit_code == 0, first.output
    *rows, summary = [json.loads(line) for line in first.stdout.splitlines()]
    assert len(rows) == 3
    assert {r["origin"] for r in rows} == {"ai-generated", "unknown"}
    assert all(len(r["content_id"]) == 64 and r["change"] == "seen" for r in rows)
    assert summary["summary"]["new"] == 3 and summary["errors"] == []
    again = runner.invoke(cli, [*ws, "scan", "--json", str(show)])
    assert again.exit_code == 0
    (only,) = [json.loads(line) for line in again.stdout.splitlines()]
    assert only["summary"]["unchanged"] == 3 and only["summary"]["new"] == 0


def test_scan_summary_line_counts_what_happened(runner, ws, show):
    result = runner.invoke(cli, [*ws, "scan", str(show)])
    assert result.exit_code == 0
    assert "3 files: 3 new" in result.stdout and "2 AI found, 2 tagged, 0 errors" in result.stdout


def test_a_bad_file_in_a_scan_is_reported_and_the_scan_goes_on(runner, ws, show):
    (show / "sh010" / "broken.png").write_bytes(b"")
    result = runner.invoke(cli, [*ws, "scan", str(show)])
    assert result.exit_code == 2  # a script can trust it: not every file was recorded
    assert "broken.png: empty file" in result.stderr
    assert "3 new" in result.stdout and "1 errors" in result.stdout


def test_scan_of_a_missing_path_is_exit_2(runner, ws, tmp_path):
    result = runner.invoke(cli, [*ws, "scan", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "no such file" in result.stderr


def test_tag_by_hand_writes_a_signed_tag_that_inspect_shows(runner, ws, tmp_path):
    still = copy_fixture("c2pa/no_manifest.jpg", tmp_path / "art")
    result = runner.invoke(
        cli,
        [
            *ws,
            "tag",
            str(still),
            "--origin",
            "ai-generated",
            "--tool",
            "Midjourney v7",
            "--use",
            "previs",
        ],
    )
    assert result.exit_code == 0, result.output
    info = json.loads(runner.invoke(cli, [*ws, "inspect", "--json", str(still)]).stdout)
    assert info["origin"] == "ai-generated"
    assert info["c2pa"]["validation"] == "trusted"
    assert info["c2pa"]["provgate_tag"]["tool"] == "Midjourney v7"
    assert info["status"] == "temporary" and info["use"] == "previs"


def test_tag_non_ai_writes_digital_creation(runner, ws, tmp_path):
    still = copy_fixture("c2pa/no_manifest.jpg", tmp_path / "art")
    assert runner.invoke(cli, [*ws, "tag", str(still), "--origin", "non-ai"]).exit_code == 0
    info = json.loads(runner.invoke(cli, [*ws, "inspect", "--json", str(still)]).stdout)
    assert info["origin"] == "non-ai"
    assert any(e["marker"] == "dst:digitalCreation" for e in info["evidence"])


def test_ls_filters_and_formats(runner, ws, show):
    runner.invoke(cli, [*ws, "scan", str(show)])
    ai = json.loads(runner.invoke(cli, [*ws, "ls", "--origin", "ai-generated", "--json"]).stdout)
    assert sorted(Path(r["path"]).name for r in ai) == ["a1111.jpg", "comfyui.png"]
    tool = json.loads(runner.invoke(cli, [*ws, "ls", "--tool", "comfy", "--json"]).stdout)
    assert [Path(r["path"]).name for r in tool] == ["comfyui.png"]
    under = json.loads(
        runner.invoke(cli, [*ws, "ls", "--under", str(show / "sh020"), "--json"]).stdout
    )
    assert [Path(r["path"]).name for r in under] == ["a1111.jpg"]
    rows = list(
        csv.DictReader(io.StringIO(runner.invoke(cli, [*ws, "ls", "--format", "csv"]).stdout))
    )
    assert len(rows) == 3 and "origin" in rows[0]
    table = runner.invoke(cli, [*ws, "ls", "--status", "temporary"]).stdout
    assert "comfyui.png" in table and "no_manifest.jpg" not in table


def test_report_lists_every_ai_use_in_each_format(runner, ws, show, tmp_path):
    runner.invoke(cli, [*ws, "scan", str(show)])
    runner.invoke(
        cli,
        [
            *ws,
            "approve",
            str(show / "sh010" / "comfyui.png"),
            "--ref",
            "STU-42",
            "--by",
            "J. Legal",
            "--use",
            "ideation",
        ],
    )
    rows = json.loads(runner.invoke(cli, [*ws, "report", "--format", "json"]).stdout)
    assert len(rows) == 2
    approved = [r for r in rows if r["status"] == "approved"]
    assert approved and approved[0]["approval"]["reference"] == "STU-42"
    assert "STU-42" in runner.invoke(cli, [*ws, "report", "--format", "csv"]).stdout
    page = tmp_path / "report.html"
    assert runner.invoke(cli, [*ws, "report", "-o", str(page)]).exit_code == 0
    assert "STU-42" in page.read_text() and "<table>" in page.read_text()


def test_check_exit_codes_and_reports(runner, ws, show, tmp_path):
    blocked = runner.invoke(cli, [*ws, "check", str(show)])
    assert blocked.exit_code == 1
    assert "BLOCKED" in blocked.stdout and "to clear: provgate approve" in blocked.stdout
    clean = runner.invoke(cli, [*ws, "check", str(show / "sh010" / "no_manifest.jpg")])
    assert clean.exit_code == 0 and "PASS" in clean.stdout
    report = json.loads(runner.invoke(cli, [*ws, "check", "--format", "json", str(show)]).stdout)
    assert report["schema"] == "provgate.check/1" and report["verdict"] == "blocked"
    assert set(report["summary"]) == {"assets", "blocked", "ai", "approved", "unknown", "errors"}
    two = json.loads(
        runner.invoke(
            cli, [*ws, "check", "--json", str(show / "sh010"), str(show / "sh020")]
        ).stdout
    )
    assert isinstance(two["package"], list) and len(two["assets"]) == 3
    out = tmp_path / "junit.xml"
    result = runner.invoke(cli, [*ws, "check", "--format", "junit", "-o", str(out), str(show)])
    assert result.exit_code == 1 and out.read_text().startswith("<?xml")
    missing = runner.invoke(cli, [*ws, "check", str(tmp_path / "no_such_package")])
    assert missing.exit_code == 2 and "no such file" in missing.stderr


def test_check_reads_paths_from_stdin(runner, ws, show):
    listing = "\n".join(str(p) for p in sorted(show.rglob("*.jpg"))) + "\n"
    result = runner.invoke(cli, [*ws, "check", "-"], input=listing)
    assert result.exit_code == 1 and "a1111.jpg" in result.stdout


def test_history_json_is_oldest_first_and_unknown_is_exit_2(runner, ws, show, tmp_path):
    runner.invoke(cli, [*ws, "scan", str(show)])
    events = json.loads(
        runner.invoke(cli, [*ws, "history", "--json", str(show / "sh010" / "comfyui.png")]).stdout
    )
    assert [e["kind"] for e in events] == ["seen", "tagged"]
    stranger = copy_fixture("c2pa/C.jpg", tmp_path / "elsewhere")
    result = runner.invoke(cli, [*ws, "history", str(stranger)])
    assert result.exit_code == 2 and "never seen" in result.stderr


def test_log_verify_exit_1_names_the_first_bad_record(runner, ws, show):
    runner.invoke(cli, [*ws, "scan", str(show)])
    assert runner.invoke(cli, [*ws, "log", "verify"]).exit_code == 0
    with Store(Path(ws[1]) / "provgate.db") as store:
        store.conn.execute("DROP TRIGGER events_no_update")
        store.conn.execute("UPDATE events SET path = '/elsewhere' WHERE seq = 2")
    result = runner.invoke(cli, [*ws, "log", "verify"])
    assert result.exit_code == 1 and "BROKEN at event 2" in result.stdout


def test_a_scan_batches_its_events_and_every_file_keeps_its_own_history(runner, ws, tmp_path):
    """A first scan's new files share one chained event per batch: each file's history still
    shows its own record, and editing any one file's record breaks `log verify`, which names
    it."""
    tree = tmp_path / "many"
    tree.mkdir()
    for i in range(80):
        (tree / f"note_{i:02d}.txt").write_text(f"note {i}\n")
    assert runner.invoke(cli, [*ws, "scan", str(tree)]).exit_code == 0
    with Store(Path(ws[1]) / "provgate.db") as store:
        assert store.one("SELECT count(*) FROM events")[0] < 80  # batched
    for i in (0, 41, 79):
        path = tree / f"note_{i:02d}.txt"
        events = json.loads(runner.invoke(cli, [*ws, "history", "--json", str(path)]).stdout)
        assert [(e["kind"], e["path"]) for e in events] == [("seen", str(path))]
        assert events[0]["detail"]["size"] == path.stat().st_size
    text = runner.invoke(cli, [*ws, "history", str(tree / "note_41.txt")]).stdout
    assert len(text.splitlines()) == 1 and "seen" in text and "note_41.txt" in text
    assert runner.invoke(cli, [*ws, "log", "verify"]).exit_code == 0
    with Store(Path(ws[1]) / "provgate.db") as store:
        store.conn.execute("DROP TRIGGER event_leaves_no_update")
        store.conn.execute(
            "UPDATE event_leaves SET detail = replace(detail, 'unknown', 'non-ai')"
            " WHERE path LIKE '%note_41.txt'"
        )
    result = runner.invoke(cli, [*ws, "log", "verify", "--json"])
    bad = json.loads(result.stdout)["first_bad"]
    assert result.exit_code == 1 and "note_41.txt" in bad["reason"] and bad["leaf"] is not None


def test_approve_needs_consent_for_talent_likeness(runner, ws, show):
    runner.invoke(cli, [*ws, "scan", str(show)])
    art = str(show / "sh010" / "comfyui.png")
    refused = runner.invoke(
        cli, [*ws, "approve", art, "--ref", "S-1", "--by", "J", "--use", "talent-likeness"]
    )
    assert refused.exit_code == 2 and "consent" in refused.stderr
    ok = runner.invoke(
        cli,
        [
            *ws,
            "approve",
            art,
            "--ref",
            "S-1",
            "--by",
            "J",
            "--use",
            "talent-likeness",
            "--consent",
            "SAG-2026-114",
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert runner.invoke(cli, [*ws, "check", art]).exit_code == 0


def test_csv_cells_that_look_like_formulas_are_neutralised(runner, ws, show):
    runner.invoke(cli, [*ws, "scan", str(show)])
    art = str(show / "sh010" / "comfyui.png")
    approved = runner.invoke(
        cli, [*ws, "approve", art, "--ref", '=HYPERLINK("x")', "--by", "@someone"]
    )
    assert approved.exit_code == 0, approved.output
    out = runner.invoke(cli, [*ws, "report", "--format", "csv"]).stdout
    rows = [r for r in csv.DictReader(io.StringIO(out)) if r["approval"]]
    assert rows[0]["approval"] == '\'=HYPERLINK("x")' and rows[0]["approver"] == "'@someone"


def test_check_with_output_writes_the_report_and_prints_the_verdict(runner, ws, show, tmp_path):
    out = tmp_path / "report.json"
    result = runner.invoke(cli, [*ws, "check", "--format", "json", "-o", str(out), str(show)])
    assert result.exit_code == 1
    assert result.stdout.startswith("BLOCKED:") and len(result.stdout.splitlines()) == 1
    assert json.loads(out.read_text())["verdict"] == "blocked"
