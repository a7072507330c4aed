"""Frame sequences as people name them, and names as provgate printed them (items 4 and 8)."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from cli.main import cli
from tests.conftest import copy_fixture

FRAMES = list(range(998, 1006))  # 998..1005: the padding grows, frame order is not name order


def ai_frame(path: Path, frame: int) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", f"comp frame {frame}\nSteps: 20, Sampler: Euler a, Seed: {frame}")
    Image.new("RGB", (16, 16), (frame % 256, frame // 256, 40)).save(path, pnginfo=info)


@pytest.fixture
def shot(runner, tmp_path: Path) -> tuple[list[str], Path]:
    ws = ["--workspace", str(tmp_path / "ws")]
    assert runner.invoke(cli, ["init", ws[1]]).exit_code == 0
    folder = tmp_path / "show" / "sh010"
    folder.mkdir(parents=True)
    for frame in random.sample(FRAMES, len(FRAMES)):
        ai_frame(folder / f"sh010_comp.{frame}.png", frame)
    copy_fixture("c2pa/no_manifest.jpg", folder)
    assert runner.invoke(cli, [*ws, "scan", "--no-tag", str(folder)]).exit_code == 0
    return ws, folder


def test_ls_shows_one_row_and_every_command_takes_that_name(runner, shot):
    ws, folder = shot
    label = str(folder / "sh010_comp.[998-1005].png")
    table = runner.invoke(cli, [*ws, "ls"]).stdout
    assert f"{label}  ai-generated" in table and "8 files" in table
    approved = runner.invoke(cli, [*ws, "approve", label, "--ref", "LEGAL-9", "--by", "Dana",
                                   "--use", "previs", "--json"])  # fmt: skip
    assert approved.exit_code == 0, approved.output
    assert len(json.loads(approved.stdout)) == len(FRAMES)  # one reference, every frame
    check = runner.invoke(cli, [*ws, "check", str(folder)])
    assert check.exit_code == 0, check.output
    passed = [line for line in check.stdout.splitlines() if line.startswith("pass ")]
    assert passed == ["pass   sh010_comp.[998-1005].png (8 frames): ai-generated (AUTOMATIC1111),"
                      " approved: LEGAL-9 by Dana"], check.stdout  # fmt: skip
    four_digits = str(folder / "sh010_comp.####.png")  # 998 and 999 have three
    inspected = runner.invoke(cli, [*ws, "inspect", "--json", four_digits])
    assert inspected.exit_code == 0, inspected.output
    frames = [Path(f["path"]).name for f in json.loads(inspected.stdout)]
    assert frames == [f"sh010_comp.{f}.png" for f in range(1000, 1006)]
    history = runner.invoke(cli, [*ws, "history", "--json", label])
    assert {e["kind"] for e in json.loads(history.stdout)} >= {"seen", "approved"}


def test_a_sequence_no_frame_of_which_exists_is_a_usage_error(runner, shot):
    ws, folder = shot
    result = runner.invoke(cli, [*ws, "approve", str(folder / "sh020.[1-9].exr"),
                                 "--ref", "L", "--by", "D"])  # fmt: skip
    assert result.exit_code == 2
    assert "sh020.[1-9].exr: no frame of this sequence on disk or in the store" in result.stderr


def test_check_groups_a_sequence_into_one_row_with_the_frames_that_differ(runner, shot):
    ws, folder = shot
    odd = folder / "sh010_comp.1002.png"
    runner.invoke(cli, [*ws, "approve", str(odd), "--ref", "LEGAL-1", "--by", "Dana",
                        "--use", "previs"])  # fmt: skip
    (folder / "sh010_comp.1004.png").write_bytes(b"")  # unreadable: blocks for another reason
    result = runner.invoke(cli, [*ws, "check", str(folder)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    rows = [line for line in lines if line.startswith("BLOCK ")]
    assert rows == ["BLOCK  sh010_comp.[998-1001,1003-1005].png  (7 frames)"], result.stdout
    assert any(line.strip().startswith("differs: sh010_comp.1004.png: ") for line in lines)
    clear = next(line for line in lines if "to clear:" in line)
    assert f"provgate approve '{folder}/sh010_comp.[998-1001,1003,1005].png'" in clear
    assert any(line.startswith("pass   sh010_comp.1002.png") for line in lines)
    as_json = json.loads(runner.invoke(cli, [*ws, "check", "--json", str(folder)]).stdout)
    assert len(as_json["assets"]) == len(FRAMES) + 1  # JSON keeps one row per file


def test_the_report_lists_frames_in_frame_order(runner, shot):
    ws, _folder = shot
    rows = json.loads(runner.invoke(cli, [*ws, "report", "--format", "json"]).stdout)
    names = [Path(r["paths"][0]).name for r in rows]
    assert names == [f"sh010_comp.{f}.png" for f in FRAMES]


def test_a_name_shown_escaped_names_the_same_file_again(runner, tmp_path, backend_workspace):
    """On SQLite and on PostgreSQL: a name that is not UTF-8 (and one holding U+FFFD, the
    stored form's own mark) is recorded, shown escaped, and typed back names the same file."""
    ws = ["--workspace", str(backend_workspace.root)]
    folder = tmp_path / "show"
    folder.mkdir()
    raw = os.path.join(os.fsencode(folder), b"plate_\xff\x07.png")
    ai_frame(Path(os.fsdecode(raw)), 1)
    marked = folder / "plate_\ufffdff.png"  # a literal U+FFFD and what looks like its escape
    ai_frame(marked, 2)
    scanned = runner.invoke(cli, [*ws, "scan", str(folder)])
    assert scanned.exit_code == 0, scanned.output
    table = runner.invoke(cli, [*ws, "ls"]).stdout
    assert "\x07" not in table and f"{folder}/plate_\\xff\\x07.png" in table
    assert f"{folder}/plate_\ufffdff.png" in table
    again = runner.invoke(cli, [*ws, "inspect", "--json", f"{folder}/plate_\\xff\\x07.png"])
    assert again.exit_code == 0, again.output
    assert os.fsencode(json.loads(again.stdout)["path"]) == raw
    listed = json.loads(runner.invoke(cli, [*ws, "ls", "--json"]).stdout)
    paths = {os.fsencode(row["path"]) for row in listed}
    assert paths == {raw, os.fsencode(marked)}
    assert runner.invoke(cli, [*ws, "log", "verify"]).exit_code == 0
    rescan = runner.invoke(cli, [*ws, "scan", "--json", str(folder)])
    assert json.loads(rescan.stdout.splitlines()[-1])["summary"]["changed"] == 0, rescan.stdout


def test_the_html_report_groups_a_sequence_into_one_row_too(runner, shot):
    ws, folder = shot
    (folder / "sh010_comp.1004.png").write_bytes(b"")
    page = runner.invoke(cli, [*ws, "check", "--format", "html", str(folder)]).stdout
    assert page.count('<tr class="block">') == 1  # the seven AI frames, one row
    assert "sh010_comp.[998-1003,1005].png" in page and "8 frames" in page
    assert "differs: sh010_comp.1004.png: cannot be checked" in page


def test_the_review_queue_and_report_page_group_a_sequence_into_one_row(runner, shot):
    from cli.review.auth import USERS_NAME, User, hash_password, save_users
    from provenance.workspace import open_workspace
    from tests.cli.test_review import PASSWORD, client_for, sign_in

    ws, folder = shot
    odd = folder / "sh010_comp.1002.png"
    approved = runner.invoke(cli, [*ws, "approve", str(odd), "--ref", "LEGAL-1", "--by", "Dana",
                                   "--use", "previs"])  # fmt: skip
    assert approved.exit_code == 0, approved.output
    workspace = open_workspace(Path(ws[1]))
    save_users(workspace.root / USERS_NAME,
               {"alice": User("alice", "approver", hash_password(PASSWORD))})  # fmt: skip
    with client_for(workspace) as client:
        sign_in(client)
        waiting = client.get("/").text  # awaiting a decision: every frame but the approved one
        rows = re.findall(r'class="path" href="/asset/[0-9a-f]{64}">([^<]*)</a>', waiting)
        assert rows == [f"{folder}/sh010_comp.[998-1001,1003-1005].png"], rows
        assert "(7 frames)" in waiting and "differs:" not in waiting
        assert waiting.count('href="/asset/') == 2 + 7  # thumbnail, label, one per frame
        every = client.get("/", params={"status": "any"}).text
        rows = re.findall(r'class="path" href="/asset/[0-9a-f]{64}">([^<]*)</a>', every)
        assert rows == [f"{folder}/sh010_comp.[998-1005].png"], rows
        assert "(8 frames)" in every
        differs = re.findall(r'differs: <a href="/asset/[0-9a-f]{64}">([^<]*)</a>: ([^<]*)<', every)
        assert differs == [("sh010_comp.1002.png", "status approved")], differs
        report = client.get("/report").text
        assert f"{folder}/sh010_comp.[998-1005].png" in report and "(8 frames)" in report
        assert report.count("differs:") == 1


@pytest.mark.parametrize("page_size", [1, 2, 3, 5, 9])
def test_the_review_queue_groups_a_sequence_across_pages(runner, shot, tmp_path, page_size):
    """Whatever the page size, a sequence is one row on the page of its newest frame, and
    no later page shows any of its frames again."""
    import html

    from cli.review.auth import USERS_NAME, ReviewSettings, User, hash_password, save_users
    from provenance.workspace import open_workspace
    from tests.cli.test_review import PASSWORD, client_for, sign_in

    ws, folder = shot
    later = tmp_path / "show" / "sh020"
    later.mkdir()
    ai_frame(later / "matte.png", 7)  # newer than every frame: first on the first page
    assert runner.invoke(cli, [*ws, "scan", "--no-tag", str(later)]).exit_code == 0
    workspace = open_workspace(Path(ws[1]))
    save_users(workspace.root / USERS_NAME,
               {"alice": User("alice", "approver", hash_password(PASSWORD))})  # fmt: skip
    shown, frames_shown = [], []
    with client_for(workspace, ReviewSettings(page_size=page_size)) as client:
        sign_in(client)
        url: str | None = "/"
        while url:
            page = client.get(url).text
            shown += re.findall(r'class="path" href="/asset/[0-9a-f]{64}">([^<]*)</a>', page)
            frames_shown += re.findall(r"\((\d+) frames\)", page)
            older = re.search(r'<a href="(/\?[^"]*)">Older', page)
            url = html.unescape(older.group(1)) if older else None
    assert shown == [f"{later}/matte.png", f"{folder}/sh010_comp.[998-1005].png"], shown
    assert frames_shown == ["8"]


def test_csv_shows_names_escaped_and_a_file_takes_them(runner, tmp_path):
    """`report`/`ls` CSV: a name that is not UTF-8, with a newline and an ESC, is one cell as
    `ls` shows it (typed back, it names the file), on stdout and in a file (-o)."""
    from provenance.names import unshown

    ws = ["--workspace", str(tmp_path / "ws")]
    runner.invoke(cli, ["init", ws[1]])
    folder = tmp_path / "show"
    folder.mkdir()
    raw = os.path.join(os.fsencode(folder), b"plate_\xff\n\x1b[2J.png")
    ai_frame(Path(os.fsdecode(raw)), 1)
    assert runner.invoke(cli, [*ws, "scan", "--no-tag", str(folder)]).exit_code == 0
    sheet = tmp_path / "report.csv"
    written = runner.invoke(cli, [*ws, "report", "--format", "csv", "-o", str(sheet)])
    assert written.exit_code == 0, written.output
    for text in (
        sheet.read_bytes().decode("utf-8"),  # valid UTF-8: a spreadsheet opens it
        runner.invoke(cli, [*ws, "report", "--format", "csv"]).stdout,
        runner.invoke(cli, [*ws, "ls", "--format", "csv"]).stdout,
    ):
        assert "\x1b" not in text and len(text.splitlines()) == 2, text
        row = next(csv.DictReader(io.StringIO(text)))
        cell = row.get("path") or row["paths"]
        assert cell == f"{folder}/plate_\\xff\\x0a\\x1b[2J.png"
        assert os.fsencode(unshown(cell)) == raw


def test_check_takes_a_sequence_as_ls_names_it_and_an_escaped_name(runner, shot, tmp_path):
    ws, folder = shot
    label = str(folder / "sh010_comp.[998-1005].png")
    text = runner.invoke(cli, [*ws, "check", label])
    assert text.exit_code == 1, text.output
    assert "BLOCK  sh010_comp.[998-1005].png  (8 frames)" in text.stdout
    assert text.stdout.splitlines()[-1].startswith(f"BLOCKED: {label} - 8 assets, 8 blocked")
    four = runner.invoke(cli, [*ws, "check", "--json", str(folder / "sh010_comp.####.png")])
    report = json.loads(four.stdout)
    assert len(report["assets"]) == len(report["package"]) == 6  # JSON: one row per file
    missing = runner.invoke(cli, [*ws, "check", str(folder / "sh020.[1-9].png")])
    assert missing.exit_code == 2 and "no frame of this sequence" in missing.stderr
    raw = os.path.join(os.fsencode(folder), b"odd_\xff\x1b.png")
    ai_frame(Path(os.fsdecode(raw)), 7)
    odd = runner.invoke(cli, [*ws, "check", f"{folder}/odd_\\xff\\x1b.png"])
    assert odd.exit_code == 1, odd.output
    assert "\x1b" not in odd.stdout and "BLOCK  odd_\\xff\\x1b.png" in odd.stdout
