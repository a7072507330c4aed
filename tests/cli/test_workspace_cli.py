"""init, workspace discovery, and the error contract (one line, exit 2)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from cli.main import cli
from provenance.mounts import Mount
from tests.conftest import fixture_file


def test_init_is_idempotent_and_keys_are_private(runner, tmp_path: Path) -> None:
    ws = tmp_path / "show" / ".provgate"
    first = runner.invoke(cli, ["init", str(ws)])
    assert first.exit_code == 0, first.output
    assert "DEVELOPMENT ONLY" in first.output
    assert "approval-chain.pem" in first.output and "log-key.pem" in first.output
    config = (ws / "provgate.toml").read_text()
    keys = {p.name: p.read_bytes() for p in (ws / "keys").iterdir()}
    for name in ("signer-key.pem", "dev-ca-key.pem"):
        assert stat.S_IMODE((ws / "keys" / name).stat().st_mode) == 0o600
    (ws / "provgate.toml").write_text(config + "\n# edited by the TD\n")
    again = runner.invoke(cli, ["init", str(ws)])
    assert again.exit_code == 0
    assert (ws / "provgate.toml").read_text().endswith("# edited by the TD\n")
    assert {p.name: p.read_bytes() for p in (ws / "keys").iterdir()} == keys


def test_the_nearest_dot_provgate_above_the_current_folder_is_used(
    runner, tmp_path: Path, monkeypatch
) -> None:
    runner.invoke(cli, ["init", str(tmp_path / "show" / ".provgate")])
    deep = tmp_path / "show" / "ep101" / "sh010"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    result = runner.invoke(cli, ["inspect", "--json", str(fixture_file("c2pa/C.jpg"))])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "show" / ".provgate" / "provgate.db").exists()


def test_without_any_workspace_the_user_data_dir_is_created(
    runner, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["inspect", str(fixture_file("c2pa/no_manifest.jpg"))])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "xdg" / "provgate" / "provgate.toml").exists()


def test_environment_variable_names_the_workspace(runner, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PROVGATE_WORKSPACE", str(tmp_path / "nowhere"))
    result = runner.invoke(cli, ["ls"])
    assert result.exit_code == 2
    assert "not a provgate workspace" in result.stderr and "nowhere" in result.stderr


def test_a_store_on_a_network_filesystem_is_refused(runner, tmp_path: Path, monkeypatch) -> None:
    def on_nfs(path: Path, table=None) -> Mount:
        return Mount(mount_point=str(tmp_path), fs_type="nfs4", source="filer:/vol/show")

    monkeypatch.setattr("provenance.workspace.mount_of", on_nfs)
    result = runner.invoke(cli, ["init", str(tmp_path / "ws")])
    assert result.exit_code == 2
    assert "local disk" in result.stderr and "nfs4" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "name, payload, message",
    [
        ("empty.png", b"", "empty file"),
        ("cut.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00", "truncated"),
    ],
    ids=["empty", "truncated"],
)
def test_bad_files_give_one_line_and_exit_2(
    runner, tmp_path: Path, name: str, payload: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(payload)
    result = runner.invoke(cli, ["--workspace", str(tmp_path / "ws"), "init"])
    result = runner.invoke(cli, ["--workspace", str(tmp_path / "ws"), "inspect", str(path)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and message in lines[0]


def test_a_missing_file_and_a_folder_are_clear_errors(runner, tmp_path: Path) -> None:
    runner.invoke(cli, ["init", str(tmp_path / "ws")])
    for target in (tmp_path / "missing.png", tmp_path):
        result = runner.invoke(cli, ["--workspace", str(tmp_path / "ws"), "inspect", str(target)])
        assert result.exit_code == 2
        assert "Traceback" not in result.output
        assert len(result.stderr.strip().splitlines()) == 1


def test_a_non_media_file_is_simply_unknown(runner, tmp_path: Path) -> None:
    notes = tmp_path / "notes.png"
    notes.write_text("not an image at all\n")
    runner.invoke(cli, ["init", str(tmp_path / "ws")])
    result = runner.invoke(
        cli, ["--workspace", str(tmp_path / "ws"), "inspect", "--json", str(notes)]
    )
    assert result.exit_code == 0
    assert '"origin": "unknown"' in result.output


def test_an_unforeseen_error_is_one_line_and_exit_2(runner, tmp_path: Path, monkeypatch) -> None:
    """Fault injection: a bug anywhere below the CLI still gives one line and a failing code."""
    runner.invoke(cli, ["init", str(tmp_path / "ws")])

    def broken(*args, **kwargs):
        raise ValueError("something nobody expected")

    monkeypatch.setattr("provenance.api.report_rows", broken)
    result = runner.invoke(cli, ["--workspace", str(tmp_path / "ws"), "report"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "internal error: ValueError" in lines[0]


def test_an_unreadable_trust_anchor_is_named_once_at_start(runner, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    runner.invoke(cli, ["init", str(ws)])
    (ws / "keys" / "dev-ca.pem").unlink()
    result = runner.invoke(cli, ["--workspace", str(ws), "ls"])
    assert result.exit_code == 2
    assert "trust anchor unreadable" in result.stderr and "dev-ca.pem" in result.stderr
