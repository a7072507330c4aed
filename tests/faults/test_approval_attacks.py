"""Issue 17's attacks on approvals, each tried as a person at a workstation would."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cli.main import cli
from tests.conftest import copy_fixture


@pytest.fixture
def ws(runner, tmp_path: Path) -> list[str]:
    root = tmp_path / "ws"
    assert runner.invoke(cli, ["init", str(root)]).exit_code == 0
    return ["--workspace", str(root)]


@pytest.fixture
def art(runner, ws, tmp_path: Path) -> Path:
    path = copy_fixture("generators/comfyui.png", tmp_path / "show")
    assert runner.invoke(cli, [*ws, "scan", str(path.parent)]).exit_code == 0
    return path


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--ref", " ", "--by", "J"], "reference must not be blank"),
        (["--ref", "S-1", "--by", "  "], "approver must not be blank"),
        (["--ref", "S-1", "--by", "J", "--use", "voice", "--consent", " "], "consent reference"),
        (["--ref", "S-1", "--by", "J", "--expires", "2001-01-01"], "in the past"),
        (["--ref", "S-1", "--by", "J", "--expires", "2099-02-30"], "is not a date"),
        (["--ref", "S-1", "--by", "J", "--expires", "2099-01-01junk"], "is not a date"),
    ],
    ids=["blank-ref", "blank-approver", "blank-consent", "past-expiry", "no-such-day", "junk"],
)
def test_approve_refuses_blank_and_bad_values(runner, ws, art, extra, message):
    result = runner.invoke(cli, [*ws, "approve", str(art), *extra])
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert runner.invoke(cli, [*ws, "check", str(art)]).exit_code == 1


def test_the_library_refuses_blank_approvals_too(workspace, tmp_path):
    from provenance import api
    from provenance.errors import ApprovalError
    from provenance.stores import open_store

    path = copy_fixture("generators/comfyui.png", tmp_path / "lib")
    with open_store(workspace) as store:
        api.scan([path.parent], workspace.config, store, tag=False)
        with pytest.raises(ApprovalError, match="reference must not be blank"):
            api.approve([str(path)], workspace.config, store, reference="\t", by="J")
        with pytest.raises(ApprovalError, match="revoker must not be blank"):
            api.revoke([str(path)], workspace.config, store, reference="S", by=" ", reason="x")


def test_revoke_refuses_a_blank_reason(runner, ws, art):
    assert (
        runner.invoke(cli, [*ws, "approve", str(art), "--ref", "S-1", "--by", "J"]).exit_code == 0
    )
    result = runner.invoke(
        cli, [*ws, "revoke", str(art), "--ref", "S-1", "--by", "J", "--reason", " "]
    )
    assert result.exit_code == 2 and "reason must not be blank" in result.stderr


def test_an_asset_name_that_is_a_file_and_a_content_id_prefix_is_refused(runner, ws, art, tmp_path):
    inspected = json.loads(runner.invoke(cli, [*ws, "inspect", "--json", str(art)]).stdout)
    prefix = inspected["content_id"][:16]
    planted = tmp_path / "cwd"
    planted.mkdir()
    copy_fixture("generators/a1111.jpg", planted).rename(planted / prefix)
    here = os.getcwd()
    os.chdir(planted)
    try:
        result = runner.invoke(cli, [*ws, "approve", prefix, "--ref", "S-1", "--by", "J"])
    finally:
        os.chdir(here)
    assert result.exit_code == 2, result.output
    assert "means both the file" in result.stderr and prefix in result.stderr
    assert str(planted / prefix) in result.stderr
