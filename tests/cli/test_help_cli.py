"""Every command and option explains itself; completion works as the README says (item 10)."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from cli.main import COMMAND_MODULES, cli
from tests.cli.terminal import PROVGATE, user_env

README = Path(__file__).resolve().parents[2] / "README.md"


def commands(group: click.Group, path: tuple[str, ...] = ("provgate",)):
    yield path, group
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        sub = group.get_command(ctx, name)
        if isinstance(sub, click.Group):
            yield from commands(sub, (*path, name))
        else:
            yield (*path, name), sub


COMMANDS = list(commands(cli))


def test_each_command_is_found_in_the_module_the_table_names():
    for name, module in COMMAND_MODULES.items():
        command = cli.get_command(click.Context(cli), name)
        assert command is not None, f"{name}: not defined by cli.{module}"
        assert sys.modules[command.callback.__module__] is importlib.import_module(f"cli.{module}")
    assert set(cli.commands) == set(COMMAND_MODULES), "a command is missing from COMMAND_MODULES"


def test_version_and_one_command_load_only_what_they_need():
    code = (
        "import sys; from cli.main import cli; {}; "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith(('cli.', 'provenance.')))))"
    )

    def loaded(expr):
        out = subprocess.run(
            [sys.executable, "-c", code.format(expr)], capture_output=True, text=True, check=True
        ).stdout
        return set(out.split())

    bare = loaded("pass")
    assert not {
        m for m in bare if m.startswith(("provenance.gate", "provenance.stores.", "cli.gate"))
    }
    scan = loaded("cli.get_command(None, 'scan')")
    assert "cli.assets" in scan
    assert not {m for m in scan if m.startswith(("provenance.gate", "cli.gate", "cli.review"))}


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_and_option_has_help_text(path, command):
    assert command.help, f"{' '.join(path)} has no help text"
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert param.help, f"{' '.join(path)} {'/'.join(param.opts)} has no help text"
        if isinstance(param, click.Option) and param.name in ("workspace", "quiet"):
            assert param.expose_value is False  # global: resolved in one place


def test_provgate_help_shows_an_example_per_command_group(runner):
    text = runner.invoke(cli, ["--help"]).stdout
    examples = text.split("Examples, by command group:", 1)[1]
    groups = {"scan", "watch", "inspect", "ls", "history", "check", "approve", "revoke", "tag",
              "report", "log", "store", "user", "serve", "declarations", "init"}  # fmt: skip
    missing = {g for g in groups if not re.search(rf"provgate {g}\b", examples)}
    assert not missing, f"no example for {sorted(missing)}"
    listed = {name for _path, name in [(p, p[-1]) for p, _ in COMMANDS if len(p) == 2]}
    assert groups - {"init"} <= listed | {"declarations"}


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_completion_documented_in_the_readme_works(tmp_path, shell):
    readme = README.read_text("utf-8")
    assert f"_PROVGATE_COMPLETE={shell}_source provgate" in readme
    env = user_env(tmp_path / "home", _PROVGATE_COMPLETE=f"{shell}_source")
    script = subprocess.run([PROVGATE], env=env, capture_output=True, text=True, timeout=60)
    assert script.returncode == 0 and "_PROVGATE_COMPLETE" in script.stdout
    if shell == "bash":  # what the script asks for when `provgate l<TAB>` is typed
        env = user_env(tmp_path / "home", _PROVGATE_COMPLETE="bash_complete",
                       COMP_WORDS="provgate l", COMP_CWORD="1")  # fmt: skip
        done = subprocess.run([PROVGATE], env=env, capture_output=True, text=True, timeout=60)
        assert {"plain,log", "plain,ls"} <= set(done.stdout.split())
