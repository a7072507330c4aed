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
