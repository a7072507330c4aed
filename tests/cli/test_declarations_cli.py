"""Declared uses as a user runs them: `declare`, `declarations ...`, `approve --declaration`,
`ls --undeclared`, the report's sections, cleared tools under `check --strict`, and the
digest (to a file, and mailed through a real local script standing in for sendmail)."""

from __future__ import annotations

import csv
import email
import io
import json
import os
import stat
from email.policy import default
from pathlib import Path

import pytest

from cli.main import cli
from tests.conftest import copy_fixture, fixture_file


@pytest.fixture
def ws(runner, tmp_path: Path) -> list[str]:
    root = tmp_path / "ws"
    assert runner.invoke(cli, ["init", str(root)]).exit_code == 0
    return ["--workspace", str(root)]


@pytest.fixture
def show(tmp_path: Path) -> Path:
    """sq01/sh010: a ComfyUI still; sq02/sh020: an AUTOMATIC1111 still and a ComfyUI one
    under a name that is not UTF-8."""
    root = tmp_path / "show"
    copy_fixture("generators/comfyui.png", root / "sq01" / "sh010")
    copy_fixture("generators/a1111.png", root / "sq02" / "sh020")
    odd = root / "sq02" / "sh020" / os.fsdecode(b"plate_\xff\xfe.png")
    odd.write_bytes(fixture_file("generators/comfyui.png").read_bytes() + b"\0")
    return root


def label(path: str) -> str:
    name = Path(path).name
    return "plate" if name.startswith("plate_") else name


def run(runner, *args: str, input: str | None = None, code: int = 0):
    result = runner.invoke(cli, list(args), input=input)
    assert result.exit_code == code, result.output
    return result


def scanned(runner, ws, show) -> None:
    run(runner, *ws, "scan", "--no-tag", str(show))


def declare(runner, ws, *args: str, code: int = 0) -> dict:
    result = run(runner, *ws, "declare", "--json", "--by", "Jo (VFX)", *args, code=code)
    return json.loads(result.stdout) if code == 0 else {"stderr": result.stderr}


def set_policy(ws: list[str], text: str) -> None:
    """Set one key of [policy] (replacing the line init wrote, if any)."""
    config = Path(ws[1]) / "provgate.toml"
    key = text.split("=", 1)[0].strip()
    lines = config.read_text("utf-8").splitlines(keepends=True)
    body = "".join(line for line in lines if not line.startswith(f"{key} ="))
    assert "[policy]\n" in body
    config.write_text(body.replace("[policy]\n", f"[policy]\n{text}\n", 1), "utf-8")


# -- declaring ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "state"),
    [
        (["--use", "ideation"], "noted"),
        (["--use", "previs"], "noted"),
        (["--use", "vfx-final"], "needs-approval"),
        (["--use", "ideation", "--talent"], "needs-approval"),
        (["--use", "ideation", "--personal-data"], "needs-approval"),
        (["--use", "temp", "--third-party"], "needs-approval"),
        (["--use", "ideation", "--unsure"], "escalated"),
    ],
    ids=["ideation", "previs", "final", "talent", "personal-data", "third-party", "unsure"],
)
def test_declare_gives_a_reference_and_the_state_the_policy_says(runner, ws, args, state):
    found = declare(runner, ws, "--tool", "Firefly", "--purpose", "sky", "--shot", "sh010", *args)
    assert found["reference"] == "D-0001" and found["state"] == state
    assert found["declared_by"] == "Jo (VFX)" and found["scope"] == [
        {"kind": "shot", "value": "sh010"}
    ]


def test_the_policy_chooses_which_categories_are_only_noted(runner, ws):
    set_policy(ws, 'notice_only = ["background-element"]')
    common = ["--tool", "Firefly", "--purpose", "crowd", "--shot", "sh010"]
    assert declare(runner, ws, *common, "--use", "background-element")["state"] == "noted"
    assert declare(runner, ws, *common, "--use", "ideation")["state"] == "needs-approval"


def test_each_declaration_is_an_event_in_the_chain_with_the_next_reference(runner, tmp_path, ws):
    first = run(
        runner, "declare", *ws, "--tool", "Runway", "--tool-version", "Gen-4", "--purpose",
        "previs of the chase", "--use", "previs", "--sequence", "sq02", "--by", "Ana",
        "--note", "temp only",
    )  # fmt: skip
    assert first.stdout.startswith("declared D-0001 (noted)\n")
    assert "scope       sequence sq02" in first.stdout
    second = run(
        runner, *ws, "declare", "--tool", "Runway", "--purpose", "x", "--use", "temp",
        "--glob", "*.exr", "--by", "Ana",
    )  # fmt: skip
    assert second.stdout.startswith("declared D-0002 (noted)")
    verify = json.loads(run(runner, *ws, "log", "verify", "--json").stdout)
    assert verify["ok"] and verify["verified"] == 2
    shown = json.loads(run(runner, *ws, "declarations", "show", "d-0001", "--json").stdout)
    assert shown["declaration"]["tool_version"] == "Gen-4"
    assert [e["kind"] for e in shown["history"]] == ["declared"]
    assert shown["history"][0]["detail"]["purpose"] == "previs of the chase"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tool", "F", "--purpose", "x", "--use", "temp"], "needs a scope"),
        (["--tool", " ", "--purpose", "x", "--use", "temp", "--shot", "a"], "needs its tool"),
        (["--tool", "F", "--purpose", "x", "--use", "temp", "--shot", " "], "an empty shot"),
    ],
    ids=["no-scope", "blank-tool", "blank-shot"],
)
def test_a_declaration_that_says_too_little_is_refused_in_one_line(runner, ws, args, message):
    result = run(runner, *ws, "declare", "--by", "Jo", *args, code=2)
    assert message in result.stderr and len(result.stderr.splitlines()) == 1
    assert json.loads(run(runner, *ws, "declarations", "list", "--json").stdout) == []


# -- state changes ------------------------------------------------------------------------------


def test_escalate_approve_refuse_and_withdraw_follow_the_states(runner, ws):
    declare(runner, ws, "--tool", "Firefly", "--purpose", "sky", "--use", "vfx-final",
            "--shot", "sh010")  # fmt: skip
    out = run(runner, *ws, "declarations", "escalate", "D-0001", "--by", "Jo",
              "--note", "is the sky a key story element?")  # fmt: skip
    assert out.stdout == "D-0001 is now escalated\n"
    missing_ref = run(runner, *ws, "declarations", "approve", "D-0001", "--by", "Legal", code=2)
    assert "--ref" in missing_ref.output
    run(runner, *ws, "declarations", "approve", "D-0001", "--by", "Legal", "--ref", "STU-7")
    refused = run(runner, *ws, "declarations", "refuse", "D-0001", "--by", "Legal",
                  "--reason", "the studio withdrew consent")  # fmt: skip
    assert refused.stdout == "D-0001 is now refused\n"
    again = run(runner, *ws, "declarations", "withdraw", "D-0001", "--by", "Jo", code=2)
    assert again.stderr == "provgate: error: declaration D-0001 is refused: cannot withdraw it\n"
    shown = json.loads(run(runner, *ws, "declarations", "show", "D-0001", "--json").stdout)
    assert [(e["detail"].get("from"), e["detail"]["state"]) for e in shown["history"]] == [
        (None, "needs-approval"),
        ("needs-approval", "escalated"),
        ("escalated", "approved"),
        ("approved", "refused"),
    ]
    assert shown["history"][2]["detail"]["written_reference"] == "STU-7"
    unknown = run(runner, *ws, "declarations", "show", "D-0099", code=2)
    assert unknown.stderr == "provgate: error: no declaration 'D-0099'\n"


# -- found vs declared --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "covered"),
    [
        (["--shot", "SH010"], {"comfyui.png"}),
        (["--sequence", "sq02"], {"plate"}),
        (["--folder", "{show}/sq02"], {"plate"}),
        (["--glob", "{show}/sq0*/*/*.png"], {"comfyui.png", "plate"}),
        (["--glob", "plate_*"], {"plate"}),
        (["--shot", "sh01"], set()),
    ],
    ids=["shot-any-case", "sequence", "folder", "path-glob", "name-glob", "not-a-whole-word"],
)
def test_found_ai_files_are_matched_to_a_declaration_by_tool_and_scope(
    runner, ws, show, scope, covered
):
    scanned(runner, ws, show)
    scope = [s.replace("{show}", str(show)) for s in scope]
    declare(runner, ws, "--tool", "comfyui", "--purpose", "ideas", "--use", "ideation", *scope)
    shown = json.loads(run(runner, *ws, "declarations", "show", "D-0001", "--json").stdout)
    # the AUTOMATIC1111 still is never covered: the declaration names ComfyUI
    assert {label(r["paths"][0]) for r in shown["found"]} == covered
    assert all(r["declarations"] == ["D-0001"] and r["tool_confirmed"] for r in shown["found"])


def test_an_undeclared_ai_file_is_listed_by_ls_and_in_the_report(runner, ws, show):
    scanned(runner, ws, show)
    declare(runner, ws, "--tool", "ComfyUI", "--purpose", "ideas", "--use", "ideation",
            "--sequence", "sq01")  # fmt: skip
    rows = json.loads(run(runner, *ws, "ls", "--undeclared", "--json").stdout)
    names = sorted(Path(r["path"]).name for r in rows)
    assert names == ["a1111.png", os.fsdecode(b"plate_\xff\xfe.png")]
    assert all(r["origin"] == "ai-generated" for r in rows)
    table = run(runner, *ws, "ls", "--undeclared", "--tool", "automatic").stdout
    assert "a1111.png" in table and "plate_" not in table and "comfyui.png" not in table
    report = json.loads(run(runner, *ws, "report", "--format", "json").stdout)
    declared = {Path(r["paths"][0]).name: r["declarations"] for r in report}
    assert declared["comfyui.png"] == ["D-0001"] and declared["a1111.png"] == []
    page = Path(ws[1]) / "report.html"
    run(runner, *ws, "report", "-o", str(page))
    html = page.read_text("utf-8")
    declared_part, undeclared_part = html.split("<h2>Undeclared AI material (2)</h2>")
    assert "D-0001: ideas" in declared_part and "sq01/sh010/comfyui.png" in declared_part
    assert "a1111.png" in undeclared_part and "plate_\\xff\\xfe.png" in undeclared_part
    assert "comfyui.png" not in undeclared_part
    sheet = list(csv.DictReader(io.StringIO(run(runner, *ws, "report", "--format", "csv").stdout)))
    assert {r["declared"] for r in sheet} == {"True", "False"}


def test_a_withdrawn_declaration_no_longer_covers_its_files(runner, ws, show):
    scanned(runner, ws, show)
    declare(runner, ws, "--tool", "ComfyUI", "--purpose", "ideas", "--use", "ideation",
            "--shot", "sh010")  # fmt: skip
    assert "comfyui.png" not in run(runner, *ws, "ls", "--undeclared").stdout
    run(runner, *ws, "declarations", "withdraw", "D-0001", "--by", "Jo")
    assert "comfyui.png" in run(runner, *ws, "ls", "--undeclared").stdout
    report = json.loads(run(runner, *ws, "report", "--format", "json").stdout)
    row = next(r for r in report if r["paths"][0].endswith("comfyui.png"))
    assert row["not_covered_by"] == ["D-0001 (withdrawn)"] and not row["declared"]


# -- approvals refer to declarations; a declaration approves nothing ----------------------------


def test_approve_with_a_declaration_that_covers_the_asset(runner, ws, show):
    scanned(runner, ws, show)
    declare(runner, ws, "--tool", "ComfyUI", "--purpose", "matte", "--use", "vfx-final",
            "--shot", "sh010")  # fmt: skip
    run(runner, *ws, "declarations", "approve", "D-0001", "--by", "Legal", "--ref", "STU-1")
    still = run(runner, *ws, "check", str(show / "sq01"), code=1)  # notice is not approval
    assert "without a valid written approval" in still.stdout
    other = run(runner, *ws, "approve", str(show / "sq02/sh020/a1111.png"), "--ref", "STU-2",
                "--by", "Legal", "--declaration", "D-0001", code=2)  # fmt: skip
    assert "declaration D-0001 (ComfyUI: shot sh010) does not cover this asset" in other.stderr
    assert "(tool AUTOMATIC1111)" in other.stderr
    done = run(runner, *ws, "approve", str(show / "sq01/sh010/comfyui.png"), "--ref", "STU-1",
               "--by", "Legal", "--declaration", "d-0001")  # fmt: skip
    assert "under D-0001" in done.stdout
    run(runner, *ws, "check", str(show / "sq01"))
    shown = json.loads(run(runner, *ws, "declarations", "show", "D-0001", "--json").stdout)
    assert shown["found"][0]["approval"]["declaration"] == "D-0001"


def test_approve_refuses_a_withdrawn_or_unknown_declaration(runner, ws, show):
    scanned(runner, ws, show)
    declare(runner, ws, "--tool", "ComfyUI", "--purpose", "m", "--use", "temp", "--shot", "sh010")
    run(runner, *ws, "declarations", "withdraw", "D-0001", "--by", "Jo")
    target = str(show / "sq01/sh010/comfyui.png")
    gone = run(runner, *ws, "approve", target, "--ref", "S", "--by", "L", "--declaration",
               "D-0001", code=2)  # fmt: skip
    assert "declaration D-0001 is withdrawn" in gone.stderr
    unknown = run(runner, *ws, "approve", target, "--ref", "S", "--by", "L", "--declaration",
                  "D-7", code=2)  # fmt: skip
    assert "no declaration 'D-7'" in unknown.stderr
    assert (
        "approved" not in run(runner, *ws, "ls", "--status", "approved").stdout.split("\n", 2)[2:]
    )


# -- tools the production has cleared -----------------------------------------------------------


def test_a_tool_not_cleared_is_flagged_and_blocked_under_strict(runner, ws, show):
    set_policy(ws, 'cleared_tools = ["Midjourney", "AUTOMATIC1111"]')
    scanned(runner, ws, show)
    target = show / "sq01" / "sh010" / "comfyui.png"
    run(runner, *ws, "approve", str(target), "--ref", "STU-1", "--by", "Legal")
    passed = run(runner, *ws, "check", str(target))
    assert (
        "tool not cleared: ComfyUI (cleared: Midjourney, AUTOMATIC1111); blocks under --strict"
        in passed.stdout
    )
    blocked = run(runner, *ws, "check", "--strict", str(target), code=1)
    assert "BLOCK  comfyui.png" in blocked.stdout and "tool not cleared: ComfyUI" in blocked.stdout
    report = json.loads(run(runner, *ws, "check", str(target), "--strict", "--json", code=1).stdout)
    assert report["verdict"] == "blocked"
    cleared = show / "sq02" / "sh020" / "a1111.png"
    run(runner, *ws, "approve", str(cleared), "--ref", "STU-2", "--by", "Legal")
    assert "tool not cleared" not in run(runner, *ws, "check", "--strict", str(cleared)).stdout
    # a declaration naming a tool outside the list is flagged, and is never merely noted
    found = declare(runner, ws, "--tool", "ComfyUI", "--purpose", "ideas", "--use", "ideation",
                    "--shot", "sh010")  # fmt: skip
    assert found["state"] == "needs-approval"
    assert found["tool_problem"].startswith("tool not cleared: ComfyUI")
    listing = run(runner, *ws, "declarations", "list").stdout
    assert "tool not cleared" in listing.splitlines()[2]
    rows = json.loads(run(runner, *ws, "report", "--format", "json").stdout)
    flagged = {Path(r["paths"][0]).name: r["tool_problem"] for r in rows}
    assert flagged["a1111.png"] is None and flagged["comfyui.png"].startswith("tool not cleared")


def test_an_empty_cleared_list_clears_no_tool_and_a_bad_one_is_a_config_error(runner, ws, show):
    set_policy(ws, "cleared_tools = []")
    scanned(runner, ws, show)
    out = run(runner, *ws, "check", str(show / "sq01"), code=1).stdout
    assert "tool not cleared: ComfyUI (cleared: none)" in out
    set_policy(ws, 'cleared_tools = "Firefly"')
    bad = run(runner, *ws, "ls", code=2)
    assert "policy.cleared_tools must be a list of tool names" in bad.stderr


# -- the digest ---------------------------------------------------------------------------------


def test_the_digest_holds_new_declarations_escalations_and_undeclared_finds(runner, ws, show):
    scanned(runner, ws, show)
    declare(runner, ws, "--tool", "ComfyUI", "--purpose", "matte ideas", "--use", "ideation",
            "--shot", "sh010")  # fmt: skip
    declare(runner, ws, "--tool", "Firefly", "--purpose", "hero sky", "--use", "vfx-final",
            "--sequence", "sq03", "--unsure", "--note", "hero shot?")  # fmt: skip
    page = Path(ws[1]).parent / "digest.html"
    out = run(runner, *ws, "digest", "-o", str(page))
    assert out.stdout == (
        "digest: 2 new declaration(s), 1 escalation(s), 2 undeclared AI find(s);"
        f" written to {page}\n"
    )
    html = page.read_text("utf-8")
    new, rest = html.split("<h2>Escalations (1)</h2>")
    escalated, undeclared = rest.split("<h2>Undeclared AI material (2)</h2>")
    assert "New declarations (2)" in new and "D-0001" in new and "matte ideas" in new
    assert "D-0002" in escalated and "hero shot?" in escalated and "D-0001" not in escalated
    assert "a1111.png" in undeclared and "plate_\\xff\\xfe.png" in undeclared
    assert "comfyui.png" not in undeclared
    # the next digest starts where this one ended
    quiet = run(runner, *ws, "digest", "-o", str(page))
    assert "nothing new since" in quiet.stderr and page.read_text("utf-8") == html
    run(runner, *ws, "declarations", "escalate", "D-0001", "--by", "Jo", "--note", "sure?")
    copy_fixture("generators/novelai.png", show / "sq04")
    scanned(runner, ws, show)
    later = json.loads(run(runner, *ws, "digest", "--json").stdout)
    assert later["declared"] == []
    assert [x["declaration"]["reference"] for x in later["escalations"]] == ["D-0001"]
    assert [Path(r["paths"][0]).name for r in later["undeclared"]] == ["novelai.png"]


def fake_sendmail(folder: Path, code: int = 0) -> Path:
    """A real executable standing in for the site's sendmail: it keeps its arguments and the
    message it read on stdin, and exits with `code`."""
    script = folder / "sendmail"
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > "{folder}/argv"\n'
        f'cat > "{folder}/message"\n'
        + (f'echo "sendmail: queue full" >&2\nexit {code}\n' if code else "exit 0\n"),
        "utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def set_digest(ws: list[str], script: Path) -> None:
    config = Path(ws[1]) / "provgate.toml"
    body = config.read_text("utf-8").replace(
        "[digest]\n",
        f'[digest]\ncommand = ["{script}", "-t", "-i"]\nto = ["clearance@studio.example"]\n'
        'from = "provgate@show.example"\n',
    )
    config.write_text(body.replace("\ncommand = []\nto = []\n", "\n", 1), "utf-8")


def test_the_digest_is_mailed_through_the_configured_sendmail_command(runner, ws, show, tmp_path):
    scanned(runner, ws, show)
    declare(runner, ws, "--tool", "ComfyUI", "--purpose", "ideas", "--use", "ideation",
            "--shot", "sh010")  # fmt: skip
    refused = run(runner, *ws, "digest", "--send", code=2)
    assert "no mail command configured" in refused.stderr
    mail = tmp_path / "mail"
    mail.mkdir()
    set_digest(ws, fake_sendmail(mail))
    sent = run(runner, *ws, "digest", "--send")
    assert "mailed to clearance@studio.example" in sent.stdout
    assert (mail / "argv").read_text().split() == ["-t", "-i"]
    message = email.message_from_bytes((mail / "message").read_bytes(), policy=default)
    assert message["To"] == "clearance@studio.example"
    assert message["From"] == "provgate@show.example"
    assert "1 new, 0 escalated, 2 undeclared" in message["Subject"]
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "D-0001" in html and "a1111.png" in html and "undeclared" in text
    assert "nothing new" in run(runner, *ws, "digest", "--send").stderr


def test_a_failing_mail_command_is_one_line_and_the_digest_is_kept_for_next_time(
    runner, ws, show, tmp_path
):
    scanned(runner, ws, show)
    mail = tmp_path / "mail"
    mail.mkdir()
    set_digest(ws, fake_sendmail(mail, code=75))
    failed = run(runner, *ws, "digest", "--send", code=2)
    assert failed.stderr == (
        f"provgate: error: {mail}/sendmail: mail command exited 75: sendmail: queue full\n"
    )
    fake_sendmail(mail)  # the site's mail system is back
    assert "3 undeclared AI find(s)" in run(runner, *ws, "digest", "--send").stdout


def test_declare_match_approve_and_digest_on_each_backend(runner, backend, tmp_path, show):
    from tests.backends import workspace_on

    ws = ["--workspace", str(workspace_on(tmp_path / "shared-ws", backend).root)]
    # the show keeps its name that is not UTF-8: both stores record it
    scanned(runner, ws, show)
    declare(runner, ws, "--tool", "ComfyUI", "--purpose", "ideas", "--use", "ideation",
            "--shot", "sh010")  # fmt: skip
    undeclared = json.loads(run(runner, *ws, "ls", "--undeclared", "--json").stdout)
    assert sorted(label(r["path"]) for r in undeclared) == ["a1111.png", "plate"]
    target = str(show / "sq01/sh010/comfyui.png")
    run(runner, *ws, "approve", target, "--ref", "S-1", "--by", "L", "--declaration", "D-0001")
    shown = json.loads(run(runner, *ws, "declarations", "show", "D-0001", "--json").stdout)
    assert shown["found"][0]["approval"]["declaration"] == "D-0001"
    digest = json.loads(run(runner, *ws, "digest", "--json").stdout)
    assert [d["reference"] for d in digest["declared"]] == ["D-0001"]
    assert sorted(label(r["paths"][0]) for r in digest["undeclared"]) == ["a1111.png", "plate"]
    assert json.loads(run(runner, *ws, "log", "verify", "--json").stdout)["ok"]


def test_an_ai_file_naming_no_tool_is_matched_by_scope_and_not_shown_cleared(runner, ws, tmp_path):
    still = copy_fixture("c2pa/no_manifest.jpg", tmp_path / "show" / "sh030")
    run(runner, *ws, "tag", str(still), "--origin", "ai-generated")  # a person says AI, no tool
    declare(runner, ws, "--tool", "Firefly", "--purpose", "plate", "--use", "temp",
            "--shot", "sh030")  # fmt: skip
    shown = json.loads(run(runner, *ws, "declarations", "show", "D-0001", "--json").stdout)
    assert len(shown["found"]) == 1 and shown["found"][0]["tool_confirmed"] is False
    run(runner, *ws, "approve", str(still), "--ref", "S-9", "--by", "Legal",
        "--declaration", "D-0001")  # fmt: skip
    run(runner, *ws, "check", "--strict", str(still))  # no cleared list kept: nothing to judge
    set_policy(ws, 'cleared_tools = ["Firefly"]')
    blocked = run(runner, *ws, "check", "--strict", str(still), code=1)
    assert "tool not cleared: the AI tool is not named (cleared: Firefly)" in blocked.stdout


# -- names and free text never reach a terminal raw ---------------------------------------------

HOSTILE = "sh\n\x1b[2JFORGED"  # a folder name with a newline and an ANSI escape


def test_names_and_text_with_a_newline_and_an_escape_are_shown_escaped(runner, ws, tmp_path):
    folder = tmp_path / "show" / HOSTILE
    copy_fixture("generators/comfyui.png", folder)
    scanned(runner, ws, tmp_path / "show")
    declare(runner, ws, "--tool", "ComfyUI", "--purpose", "ideas\nFORGED: approved\x1b[31m",
            "--use", "ideation", "--folder", str(folder))  # fmt: skip
    page = Path(ws[1]) / "page.html"
    outputs = {
        "show": run(runner, *ws, "declarations", "show", "D-0001").stdout,
        "list": run(runner, *ws, "declarations", "list").stdout,
        "report": (run(runner, *ws, "report", "-o", str(page)), page.read_text("utf-8"))[1],
        "digest": (run(runner, *ws, "digest", "-o", str(page)), page.read_text("utf-8"))[1],
    }
    for what, text in outputs.items():
        assert "\x1b" not in text, what
        assert not any(line.startswith("FORGED") for line in text.splitlines()), (what, text)
        assert "sh\\x0a\\x1b[2JFORGED" in text, (what, text)  # the name, as `ls` shows it
    assert "ideas\\x0aFORGED: approved\\x1b[31m" in outputs["show"]
    found = [line for line in outputs["show"].splitlines() if "comfyui.png" in line]
    assert found == [f"    {tmp_path}/show/sh\\x0a\\x1b[2JFORGED/comfyui.png  ComfyUI  temporary"]
