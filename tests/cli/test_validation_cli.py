"""Bad input is one clear line and exit 2; a closed pipe is quiet (issue 18, item 7)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import pytest

from cli.main import cli
from tests.cli.terminal import PROVGATE, user_env
from tests.conftest import copy_fixture


@pytest.fixture
def ws(runner, tmp_path: Path) -> list[str]:
    root = tmp_path / "ws"
    assert runner.invoke(cli, ["init", str(root)]).exit_code == 0
    return ["--workspace", str(root)]


@pytest.mark.parametrize("value", ["yesterday", "2026-13-45", "12/04/2026", ""])
def test_a_date_that_is_not_one_is_a_usage_error(runner, ws, value):
    listed = runner.invoke(cli, [*ws, "ls", "--since", value])
    assert listed.exit_code == 2 and f"{value!r} is not a date (YYYY-MM-DD)" in listed.stderr
    approve = ["approve", "abc123", "--ref", "T-1", "--by", "Dana", "--expires", value]
    assert runner.invoke(cli, [*ws, *approve]).exit_code == 2


def test_a_real_date_filters(runner, ws, tmp_path):
    copy_fixture("generators/comfyui.png", tmp_path / "show")
    runner.invoke(cli, [*ws, "scan", str(tmp_path / "show")])
    assert "comfyui.png" in runner.invoke(cli, [*ws, "ls", "--since", "2000-01-01"]).stdout
    assert "comfyui.png" not in runner.invoke(cli, [*ws, "ls", "--since", "2999-01-01"]).stdout


@pytest.mark.parametrize(
    ("added", "message"),
    [
        ("\n[polcy]\nstore_prompts = true\n", "unknown section [polcy] (did you mean 'policy'?)"),
        ("\n[watch.extra]\nx = 1\n", "unknown section [watch.extra]"),
        ("\nfacilty = 'vendor-a'\n", "unknown key 'facilty' (did you mean 'facility'?)"),
    ],
    ids=["section", "subsection", "top-level-key"],
)
def test_an_unknown_configuration_section_or_key_names_its_line(runner, ws, added, message):
    config = Path(ws[1]) / "provgate.toml"
    text = config.read_text("utf-8")
    first = added.strip().splitlines()[0]
    # a top-level key must come before the first table; a table goes at the end
    config.write_text(first + "\n" + text if first.startswith("facilty") else text + added)
    wrong = config.read_text("utf-8").splitlines().index(first) + 1
    result = runner.invoke(cli, [*ws, "ls"])
    assert result.exit_code == 2
    assert f"provgate.toml: line {wrong}: {message}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_misspelt_key_inside_a_known_section_names_its_line(runner, ws):
    config = Path(ws[1]) / "provgate.toml"
    lines = config.read_text("utf-8").splitlines()
    where = next(i for i, line in enumerate(lines) if line.startswith("store_prompts"))
    lines[where] = lines[where].replace("store_prompts", "store_promts")
    config.write_text("\n".join(lines) + "\n", "utf-8")
    result = runner.invoke(cli, [*ws, "ls"])
    assert result.exit_code == 2
    assert f"line {where + 1}: unknown key 'store_promts' in [policy]" in result.stderr


@pytest.mark.parametrize("command", [["ls"], ["ls", "--json"], ["check", "SHOW"]])
def test_output_into_a_pipe_whose_reader_has_gone_is_quiet(tmp_path, command):
    show = tmp_path / "show"
    copy_fixture("generators/comfyui.png", show)
    env = user_env(tmp_path / "home")
    ws = ["--workspace", str(tmp_path / "ws")]
    subprocess.run([PROVGATE, "init", ws[1]], env=env, capture_output=True, check=True)
    subprocess.run([PROVGATE, *ws, "scan", str(show)], env=env, capture_output=True, check=True)
    read_end, write_end = os.pipe()
    os.close(read_end)  # `| head -1` that has already read its line and gone
    try:
        argv = [PROVGATE, *ws, *[str(show) if a == "SHOW" else a for a in command]]
        ran = subprocess.run(argv, env=env, stdout=write_end, stderr=subprocess.PIPE, timeout=60)
    finally:
        os.close(write_end)
    assert ran.stderr == b""
    assert ran.returncode == 141  # 128 + SIGPIPE: output cut short never reads as success


def test_serve_on_a_busy_port_is_one_line_and_exit_2(tmp_path):
    env = user_env(tmp_path / "home")
    ws = ["--workspace", str(tmp_path / "ws")]
    subprocess.run([PROVGATE, "init", ws[1]], env=env, capture_output=True, check=True)
    subprocess.run([PROVGATE, *ws, "user", "add", "dana", "--role", "approver",
                    "--password-stdin"], input=b"correct horse\n", env=env, check=True,
                   capture_output=True)  # fmt: skip
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ran = subprocess.run(
            [PROVGATE, *ws, "serve", "--port", str(port)],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert ran.returncode == 2
    assert ran.stderr.strip().splitlines() == [
        f"Error: cannot listen on 127.0.0.1:{port}: Address already in use "
        "(is another provgate serve running?)"
    ]


def set_ignore(ws: list[str], value: str) -> int:
    """Write `[watch] ignore = value` (TOML) into the workspace config; the line it is on."""
    config = Path(ws[1]) / "provgate.toml"
    lines = config.read_text("utf-8").splitlines()
    where = next(i for i, line in enumerate(lines) if line.startswith("ignore ="))
    lines[where] = f"ignore = {value}"
    config.write_text("\n".join(lines) + "\n", "utf-8")
    return where + 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('["*.[ex"]', "'*.[ex': the '[' at position 3 is never closed"),
        ('["ok_*.png", "[z-a]*"]', "'[z-a]*': the range 'z-a' is backwards and matches nothing"),
        ('["renders/*.exr"]', "'renders/*.exr' holds a '/': these patterns match file names"),
        ('[""]', "is empty"),
        ("[3]", "must be a list of text values, not [3]"),
        ('"*.tmp"', "must be a list, not '*.tmp'"),
    ],
    ids=["unclosed", "backwards", "slash", "empty", "number", "not-a-list"],
)
def test_a_malformed_ignore_glob_is_an_error_naming_its_line(runner, ws, value, message):
    line = set_ignore(ws, value)
    result = runner.invoke(cli, [*ws, "ls"])
    assert result.exit_code == 2
    assert f"provgate.toml: line {line}: watch.ignore " in result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_good_ignore_glob_is_honoured(runner, ws, tmp_path):
    set_ignore(ws, '["*_wip.png", "[[]draft]*"]')
    show = tmp_path / "show"
    copy_fixture("generators/comfyui.png", show).rename(show / "sh010_wip.png")
    copy_fixture("generators/novelai.png", show).rename(show / "[draft] novelai.png")
    kept = copy_fixture("generators/comfyui.png", show)
    scanned = runner.invoke(cli, [*ws, "scan", "--no-tag", str(show)])
    assert scanned.exit_code == 0, scanned.output
    listed = runner.invoke(cli, [*ws, "ls", "--json"]).stdout
    assert [Path(r["path"]).name for r in json.loads(listed)] == [kept.name]


@pytest.mark.parametrize(
    ("glob", "message"),
    [("sh010/*.[ex", "is never closed"), ("*.[9-0]", "is backwards"), (" ", "is empty")],
)
def test_a_malformed_declaration_glob_names_the_option(runner, ws, glob, message):
    result = runner.invoke(cli, [*ws, "declare", "--tool", "Firefly", "--purpose", "matte",
                                 "--use", "previs", "--by", "Dana", "--glob", glob])  # fmt: skip
    assert result.exit_code == 2
    assert "Invalid value for '--glob'" in result.stderr and message in result.stderr
    listed = runner.invoke(cli, [*ws, "declarations", "list", "--json"])
    assert json.loads(listed.stdout) == []


@pytest.mark.parametrize(
    ("line", "value", "message"),
    [
        ("store_prompts =", 'store_prompts = "no"', "policy.store_prompts must be true or false"),
        ("settle =", 'settle = "fast"', "watch.settle must be a number, not 'fast'"),
        ("anchors =", 'anchors = "keys/dev-ca.pem"', "trust.anchors must be a list"),
        ("notice_only =", 'notice_only = ["temp", 3]', "policy.notice_only must be a list of text"),
        (
            "default_use =",
            'default_use = "tmp"',
            "policy.default_use names an unknown use category 'tmp'",
        ),
        ("origins =", 'origins = ["ai"]', "tagging.origins names an unknown origin 'ai'"),
        ("mode =", 'mode = "embedded"', "tagging.mode must be one of embed, sidecar, off"),
        (
            '"dst:trainedAlgorithmicMedia" =',
            '"dst:trainedAlgorithmicMedia" = "ai"',
            "policy.markers.dst:trainedAlgorithmicMedia is 'ai'; it must be one of ai-generated",
        ),
    ],
    ids=["bool", "number", "list", "list-items", "use", "origin", "tag-mode", "marker"],
)
def test_a_value_of_the_wrong_kind_is_an_error_naming_its_line(runner, ws, line, value, message):
    config = Path(ws[1]) / "provgate.toml"
    lines = config.read_text("utf-8").splitlines()
    where = next(i for i, text in enumerate(lines) if text.startswith(line))
    lines[where] = value
    config.write_text("\n".join(lines) + "\n", "utf-8")
    result = runner.invoke(cli, [*ws, "ls"])
    assert result.exit_code == 2
    assert f"provgate.toml: line {where + 1}: {message}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
