"""--workspace, --json/--format and --quiet before or after the subcommand (issue 18, item 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import cli
from provenance.stores import Store
from tests.conftest import copy_fixture


def placed(where: str, option: list[str], command: list[str], args: list[str]) -> list[str]:
    """`option` before the subcommand, after it, or between a group and its subcommand."""
    if where == "before":
        return [*option, *command, *args]
    if where == "between" and len(command) == 2:
        return [command[0], *option, command[1], *args]
    return [*command, *option, *args]


PLACES = ["before", "after", "between"]


@pytest.fixture
def two_workspaces(runner, tmp_path: Path, monkeypatch) -> tuple[Path, Path]:
    """A tampered workspace to name, and an intact decoy the environment points at."""
    show = tmp_path / "show"
    copy_fixture("generators/comfyui.png", show)
    named, decoy = tmp_path / "named", tmp_path / "decoy"
    for root in (named, decoy):
        assert runner.invoke(cli, ["init", str(root)]).exit_code == 0
        assert runner.invoke(cli, ["--workspace", str(root), "scan", str(show)]).exit_code == 0
    with Store(named / "provgate.db") as store:
        store.conn.execute("DROP TRIGGER events_no_update")
        store.conn.execute("UPDATE events SET path = '/elsewhere' WHERE seq = 1")
    monkeypatch.setenv("PROVGATE_WORKSPACE", str(decoy))
    return named, decoy


@pytest.mark.parametrize("where", PLACES)
def test_log_verify_checks_the_workspace_named_wherever_the_option_is(
    runner, two_workspaces, where
):
    named, _decoy = two_workspaces
    result = runner.invoke(cli, placed(where, ["--workspace", str(named)], ["log", "verify"], []))
    assert result.exit_code == 1, result.output
    assert "BROKEN at event 1" in result.stdout
    decoy = runner.invoke(cli, ["log", "verify"])
    assert decoy.exit_code == 0 and "intact" in decoy.stdout


@pytest.mark.parametrize("where", ["before", "after"])
def test_approve_and_check_use_the_workspace_named_after_the_subcommand(
    runner, tmp_path, monkeypatch, where
):
    still = copy_fixture("generators/comfyui.png", tmp_path / "delivery")
    named, decoy = tmp_path / "named", tmp_path / "decoy"
    for root in (named, decoy):
        assert runner.invoke(cli, ["init", str(root)]).exit_code == 0
    monkeypatch.setenv("PROVGATE_WORKSPACE", str(decoy))
    ws = ["--workspace", str(named)]
    assert runner.invoke(cli, placed(where, ws, ["scan"], [str(still)])).exit_code == 0
    approve = ["--ref", "LEGAL-1", "--by", "Dana", "--use", "previs"]
    result = runner.invoke(cli, placed(where, ws, ["approve"], [str(still), *approve]))
    assert result.exit_code == 0, result.output
    passed = runner.invoke(cli, placed(where, ws, ["check"], [str(still.parent)]))
    assert passed.exit_code == 0, passed.output
    assert runner.invoke(cli, ["check", str(still.parent)]).exit_code == 1  # the decoy knows none


@pytest.mark.parametrize("where", ["before", "after"])
def test_json_and_format_before_or_after_the_subcommand(runner, tmp_path, where):
    copy_fixture("generators/comfyui.png", tmp_path / "show")
    ws = ["--workspace", str(tmp_path / "ws")]
    runner.invoke(cli, ["init", ws[1]])
    runner.invoke(cli, [*ws, "scan", str(tmp_path / "show")])
    as_json = runner.invoke(cli, placed(where, ["--json"], ["ls"], ws))
    assert as_json.exit_code == 0 and json.loads(as_json.stdout)[0]["origin"] == "ai-generated"
    csv = runner.invoke(cli, placed(where, ["--format", "csv"], ["ls"], ws))
    assert csv.exit_code == 0 and csv.stdout.startswith("path,"), csv.output
    report = runner.invoke(cli, placed(where, ["--format", "json"], ["check"], [*ws, "-"]),
                           input=str(tmp_path / "show" / "comfyui.png") + "\n")  # fmt: skip
    assert report.exit_code == 1 and json.loads(report.stdout)["verdict"] == "blocked"
    disclosure = runner.invoke(cli, placed(where, ["--json"], ["report"], ws))
    assert disclosure.exit_code == 0, disclosure.output
    assert json.loads(disclosure.stdout)[0]["origin"] == "ai-generated"


def test_a_format_a_command_does_not_offer_is_a_usage_error(runner, tmp_path):
    ws = ["--workspace", str(tmp_path / "ws")]
    runner.invoke(cli, ["init", ws[1]])
    result = runner.invoke(cli, ["--format", "junit", "ls", *ws])
    assert result.exit_code == 2 and "ls offers table, json, csv" in result.stderr


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_before_or_after_leaves_only_errors_and_the_exit_code(runner, tmp_path, where):
    show = tmp_path / "show"
    copy_fixture("generators/comfyui.png", show)
    (show / "broken.png").write_bytes(b"")
    ws = ["--workspace", str(tmp_path / "ws")]
    runner.invoke(cli, ["init", ws[1]])
    result = runner.invoke(cli, placed(where, ["--quiet"], ["scan"], [*ws, str(show)]))
    assert result.exit_code == 2
    assert result.stdout == "" and "broken.png: empty file" in result.stderr
