"""`store migrate`, facilities in `ls`/`report`/`history`, and `scan --shard` as users run them.

PostgreSQL tests skip with the reason when PROVGATE_TEST_PG is not set.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cli.main import cli
from provenance.workspace import CONFIG_NAME
from tests.backends import pg_schema, pg_url, workspace_on
from tests.conftest import copy_fixture


@pytest.fixture
def show(tmp_path: Path) -> Path:
    root = tmp_path / "show"
    copy_fixture("generators/comfyui.png", root / "sh010")
    copy_fixture("c2pa/no_manifest.jpg", root / "sh010")
    copy_fixture("generators/a1111.jpg", root / "sh020")
    return root


def run(runner, ws, *args: str, code: int = 0):
    result = runner.invoke(cli, ["--workspace", str(ws.root), *args])
    assert result.exit_code == code, result.output
    return result


def test_a_migrated_store_verifies_and_tells_the_same_history(runner, show, tmp_path) -> None:
    ws = workspace_on(tmp_path / "ws", None, facility="office")
    # a name that is not UTF-8 (and an ESC) comes along too, byte for byte
    odd = os.path.join(os.fsencode(show / "sh020"), b"plate_\xff\x1b.jpg")
    with open(odd, "wb") as out:
        out.write((show / "sh020" / "a1111.jpg").read_bytes() + b"\0")
    run(runner, ws, "scan", str(show))
    art = str(show / "sh010" / "comfyui.png")
    run(runner, ws, "approve", art, "--ref", "STU-1", "--by", "J. Legal")
    before = json.loads(run(runner, ws, "history", "--json", art).stdout)
    listing = json.loads(run(runner, ws, "ls", "--json").stdout)
    count = json.loads(run(runner, ws, "log", "verify", "--json").stdout)["verified"]
    with pg_schema(pg_url()) as url:
        done = run(runner, ws, "store", "migrate", "--to", url)
        assert f"event log verified ({count} events)" in done.stdout
        assert f'store = "{url}"' in done.stdout
        again = run(runner, ws, "store", "migrate", "--to", url, code=2)
        assert "not empty" in again.stderr and len(again.stderr.strip().splitlines()) == 1
        config = ws.root / CONFIG_NAME
        config.write_text(f'store = "{url}"\n' + config.read_text("utf-8"), "utf-8")
        verify = json.loads(run(runner, ws, "log", "verify", "--json").stdout)
        assert (verify["verified"], verify["ok"], verify["first_bad"]) == (count, True, None)
        assert verify["anchored"] == count  # the checkpoints came along, still verifying
        assert json.loads(run(runner, ws, "history", "--json", art).stdout) == before
        assert json.loads(run(runner, ws, "ls", "--json").stdout) == listing
        assert odd in {os.fsencode(r["path"]) for r in listing}
        assert run(runner, ws, "check", art).exit_code == 0  # the approval came along
        run(runner, ws, "approve", str(show / "sh020" / "a1111.jpg"), "--ref", "S-2", "--by", "J")
        assert json.loads(run(runner, ws, "log", "verify", "--json").stdout)["ok"]


def test_migrate_wants_a_postgresql_url(runner, tmp_path) -> None:
    ws = workspace_on(tmp_path / "ws", None)
    result = run(runner, ws, "store", "migrate", "--to", str(tmp_path / "x.db"), code=2)
    assert "postgresql://" in result.stderr


def test_a_password_in_provgate_toml_is_one_clear_error(runner, tmp_path) -> None:
    ws = workspace_on(tmp_path / "ws", None)
    config = ws.root / CONFIG_NAME
    url = "postgresql://provgate:hunter2@db.example/show"
    config.write_text(f'store = "{url}"\n' + config.read_text("utf-8"), "utf-8")
    result = run(runner, ws, "ls", code=2)
    assert "PGPASSWORD" in result.stderr and "hunter2" not in result.stderr
    assert "Traceback" not in result.output


def test_two_facilities_share_one_history_and_listings_tell_them_apart(
    runner, show, tmp_path
) -> None:
    with pg_schema(pg_url()) as url:
        vendor_a = workspace_on(tmp_path / "ws-a", url, facility="vendor-a")
        vendor_b = workspace_on(tmp_path / "ws-b", url, facility="vendor-b")
        run(runner, vendor_a, "scan", "--no-tag", str(show))
        run(runner, vendor_b, "scan", "--no-tag", str(show))  # "the same" paths, elsewhere
        rows = json.loads(run(runner, vendor_a, "ls", "--json").stdout)
        assert sorted(r["facility"] for r in rows) == ["vendor-a"] * 3 + ["vendor-b"] * 3
        only_b = json.loads(run(runner, vendor_a, "ls", "--facility", "vendor-b", "--json").stdout)
        assert {r["facility"] for r in only_b} == {"vendor-b"} and len(only_b) == 3
        table = run(runner, vendor_a, "ls", "--origin", "ai-generated").stdout
        assert "vendor-a" in table and "vendor-b" in table
        report = json.loads(run(runner, vendor_b, "report", "--format", "json").stdout)
        assert len(report) == 2 and all(r["facilities"] == ["vendor-a", "vendor-b"] for r in report)
        csv_rows = run(runner, vendor_b, "report", "--format", "csv", "--facility", "vendor-a")
        assert "vendor-a" in csv_rows.stdout and "vendor-b" not in csv_rows.stdout
        art = str(show / "sh010" / "comfyui.png")
        events = json.loads(run(runner, vendor_a, "history", "--json", art).stdout)
        assert [(e["facility"], e["kind"]) for e in events] == [
            ("vendor-a", "seen"),
            ("vendor-b", "seen"),
        ]
        text = run(runner, vendor_b, "history", art).stdout
        assert "vendor-a" in text and "vendor-b" in text
        assert run(runner, vendor_b, "ls", "--facility", "nowhere", "--json").stdout.strip() == "[]"


def test_a_bad_shard_is_a_usage_error(runner, show, tmp_path) -> None:
    ws = workspace_on(tmp_path / "ws", None)
    result = run(runner, ws, "scan", "--shard", "4/3", str(show), code=2)
    assert "--shard" in result.stderr and "between 1 and N" in result.stderr
