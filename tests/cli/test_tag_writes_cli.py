"""`provgate tag` and `scan` keep what the user set on a file (issue 18, item 9)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cli.main import cli
from tests.conftest import copy_fixture
from tests.provenance.test_atomic import ACL

TAG = ["tag", "--origin", "ai-generated", "--tool", "Midjourney v7"]


@pytest.fixture
def ws(runner, tmp_path: Path) -> list[str]:
    root = tmp_path / "ws"
    assert runner.invoke(cli, ["init", str(root)]).exit_code == 0
    return ["--workspace", str(root)]


def test_an_embedded_tag_keeps_mode_owner_xattrs_and_acls(runner, ws, tmp_path):
    still = copy_fixture("c2pa/no_manifest.jpg", tmp_path / "art")
    os.chmod(still, 0o664)
    os.setxattr(still, "user.studio.shot", b"sh010")
    os.setxattr(still, "system.posix_acl_access", ACL)
    if os.geteuid() == 0:
        os.chown(still, 1234, 4321)
    before = os.stat(still)
    result = runner.invoke(cli, [*ws, *TAG, str(still)])
    assert result.exit_code == 0, result.output
    after = os.stat(still)
    assert after.st_ino != before.st_ino  # the tag was embedded: new bytes, one rename
    assert (after.st_mode, after.st_uid, after.st_gid) == (
        before.st_mode,
        before.st_uid,
        before.st_gid,
    )
    assert os.getxattr(still, "user.studio.shot") == b"sh010"
    assert os.getxattr(still, "system.posix_acl_access") == ACL


@pytest.mark.parametrize("protect", ["read-only", "hard-linked"])
def test_a_protected_file_is_not_replaced_but_gets_a_sidecar(runner, ws, tmp_path, protect):
    still = copy_fixture("c2pa/no_manifest.jpg", tmp_path / "art")
    original = still.read_bytes()
    if protect == "read-only":
        os.chmod(still, 0o444)
    else:
        os.link(still, tmp_path / "art" / "other_name.jpg")
    before = os.stat(still)
    result = runner.invoke(cli, [*ws, *TAG, "--json", str(still)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["written"] == str(still) + ".c2pa"
    after = os.stat(still)
    assert still.read_bytes() == original
    assert (after.st_ino, after.st_nlink, after.st_mode) == (
        before.st_ino,
        before.st_nlink,
        before.st_mode,
    )
    info = json.loads(runner.invoke(cli, [*ws, "inspect", "--json", str(still)]).stdout)
    assert info["origin"] == "ai-generated"


def test_a_name_at_the_255_byte_limit_is_tagged(runner, ws, tmp_path):
    folder = tmp_path / "art"
    name = "sh010_" + "long" * 61 + ".jpg"
    assert len(name.encode()) == 254
    still = copy_fixture("c2pa/no_manifest.jpg", folder)
    still = still.rename(folder / name)
    result = runner.invoke(cli, [*ws, *TAG, str(still)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.iterdir()) == [name]
    info = json.loads(runner.invoke(cli, [*ws, "inspect", "--json", str(still)]).stdout)
    assert info["origin"] == "ai-generated" and info["c2pa"]


def set_protected(ws: list[str], value: str) -> int:
    """Write `[tagging] protected = value` into the workspace config; the line it is on."""
    config = Path(ws[1]) / "provgate.toml"
    lines = config.read_text("utf-8").splitlines()
    where = next(i for i, line in enumerate(lines) if line.startswith("protected ="))
    lines[where] = f'protected = "{value}"'
    config.write_text("\n".join(lines) + "\n", "utf-8")
    return where + 1


def test_refuse_mode_refuses_protected_files_and_records_everything(runner, ws, tmp_path):
    set_protected(ws, "refuse")
    show = tmp_path / "show"
    free = copy_fixture("generators/comfyui.png", show)
    locked = copy_fixture("generators/novelai.png", show)
    os.chmod(locked, 0o444)
    linked = copy_fixture("generators/invokeai_v3.png", show)
    os.link(linked, tmp_path / "elsewhere.png")
    protected = {p: (p.read_bytes(), os.stat(p).st_ino) for p in (locked, linked)}
    scanned = runner.invoke(cli, [*ws, "scan", str(show)])
    assert scanned.exit_code == 2, scanned.output
    for path, why in ((locked, "read-only (mode 0444)"), (linked, "has 2 hard links")):
        lines = [line for line in scanned.stderr.splitlines() if path.name in line]
        assert len(lines) == 1, scanned.stderr
        assert f"{why}: not tagged" in lines[0] and '[tagging] protected = "refuse"' in lines[0]
        assert (path.read_bytes(), os.stat(path).st_ino) == protected[path]
        assert not Path(f"{path}.c2pa").exists()
    assert os.stat(linked).st_nlink == 2
    recorded = json.loads(runner.invoke(cli, [*ws, "ls", "--json"]).stdout)
    assert {Path(r["path"]).name for r in recorded} == {free.name, locked.name, linked.name}
    assert {r["origin"] for r in recorded} == {"ai-generated"}
    free_info = json.loads(runner.invoke(cli, [*ws, "inspect", "--json", str(free)]).stdout)
    assert free_info["c2pa"]  # the writable file was tagged, as ever
    tagged = runner.invoke(cli, [*ws, *TAG, str(locked)])
    assert tagged.exit_code == 2
    assert "read-only (mode 0444): not tagged" in tagged.stderr
    assert len(tagged.stderr.strip().splitlines()) == 1, tagged.stderr
    # the default, spelt out, gives the sidecar again
    set_protected(ws, "sidecar")
    again = runner.invoke(cli, [*ws, *TAG, "--json", str(locked)])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["written"] == f"{locked}.c2pa"


@pytest.mark.parametrize("value", ["refused", "Sidecar", ""])
def test_an_unknown_protected_mode_is_an_error_naming_its_line(runner, ws, value):
    line = set_protected(ws, value)
    result = runner.invoke(cli, [*ws, "ls"])
    assert result.exit_code == 2
    assert f"line {line}: tagging.protected must be one of sidecar, refuse" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_name_too_long_for_its_sidecar_is_one_clear_refusal(runner, ws, tmp_path):
    """A read-only file must get a sidecar, and `<name>.c2pa` cannot exist past 255 bytes."""
    folder = tmp_path / "art"
    name = "sh010_" + "long" * 61 + ".jpg"  # 254 bytes: the sidecar's name would be 259
    still = copy_fixture("c2pa/no_manifest.jpg", folder).rename(folder / name)
    os.chmod(still, 0o444)
    original = still.read_bytes()
    result = runner.invoke(cli, [*ws, *TAG, str(still)])
    assert result.exit_code == 2
    assert "its sidecar's name (.c2pa added) would be 259 bytes, past the 255-byte limit" in (
        result.stderr
    )
    assert len(result.stderr.strip().splitlines()) == 1
    assert still.read_bytes() == original and sorted(p.name for p in folder.iterdir()) == [name]


def test_scan_counts_a_sidecar_tag_as_tagged(runner, ws, tmp_path):
    """A protected file given a sidecar is tagged: the summary and --json say so."""
    show = tmp_path / "show"
    locked = copy_fixture("generators/novelai.png", show)
    os.chmod(locked, 0o444)
    scanned = runner.invoke(cli, [*ws, "scan", "--json", str(show)])
    assert scanned.exit_code == 0, scanned.output
    row, summary = (json.loads(line) for line in scanned.stdout.splitlines())
    assert row["tag_sidecar"] == f"{locked}.c2pa" and "tagged_content_id" not in row
    assert summary["summary"]["tagged"] == 1 and summary["summary"]["ai"] == 1
    text = runner.invoke(cli, [*ws, "scan", str(tmp_path / "show")])
    assert "0 tagged" in text.stdout  # unchanged now: nothing written the second time


def test_an_unchanged_rescan_reports_files_that_failed_again_and_skips_good_ones(
    runner, ws, tmp_path
):
    set_protected(ws, "refuse")
    show = tmp_path / "show"
    free = copy_fixture("generators/comfyui.png", show)
    locked = copy_fixture("generators/novelai.png", show)
    os.chmod(locked, 0o444)
    (show / "broken.png").write_bytes(b"")  # unreadable
    first = runner.invoke(cli, [*ws, "scan", "--json", str(show)])
    assert first.exit_code == 2, first.output
    for _ in range(2):  # the failures still stand: exit 2 and both listed, every time
        again = runner.invoke(cli, [*ws, "scan", "--json", str(show)])
        assert again.exit_code == 2, again.output
        summary = json.loads(again.stdout.splitlines()[-1])
        failed = {Path(e["path"]).name: e["reason"] for e in summary["errors"]}
        assert set(failed) == {locked.name, "broken.png"}, summary
        assert "not tagged" in failed[locked.name] and "empty" in failed["broken.png"]
        assert summary["summary"]["unchanged"] == 1  # the tagged file is not read again
        assert locked.name in again.stderr and "broken.png" in again.stderr
    os.chmod(locked, 0o644)  # fixed (mtime unchanged): the next scan tags it
    (show / "broken.png").unlink()
    fixed = runner.invoke(cli, [*ws, "scan", "--json", str(show)])
    assert fixed.exit_code == 0, fixed.output
    assert json.loads(fixed.stdout.splitlines()[-1])["errors"] == []
    info = json.loads(runner.invoke(cli, [*ws, "inspect", "--json", str(locked)]).stdout)
    assert info["c2pa"]
    assert runner.invoke(cli, [*ws, "scan", str(show)]).exit_code == 0
    assert free.exists()
