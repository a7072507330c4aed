"""Near-duplicate clips and sounds: transcodes of known AI material are caught, through the CLI
as people run it, and a clip holding part of one is reported as such."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import cli
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import _media  # noqa: E402  (bench/_media.py: the generator the benchmark uses)

from provenance.pipeline.ahash import AudioPrint, audio_fingerprint, match_audio  # noqa: E402
from provenance.pipeline.vhash import VideoPrint, match_video, video_fingerprint  # noqa: E402

needs_ffmpeg = pytest.mark.skipif(
    shutil.which("ffmpeg") is None, reason="ffmpeg (Debian package) is not installed"
)
needs_fpcalc = pytest.mark.skipif(
    shutil.which("fpcalc") is None, reason="fpcalc (Debian libchromaprint-tools) is not installed"
)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg (Debian package) is not installed")
    root = tmp_path_factory.mktemp("clips")
    made = {"ai": root / "ai.mp4", "other": root / "other.mp4"}
    _media.make_clip(made["ai"], 1, 6.0, (384, 216))
    _media.make_clip(made["other"], 2, 6.0, (384, 216))
    for name, args in _media.VIDEO_TRANSCODES.items():
        made[name] = root / f"ai.{name}"
        _media.transcode(made["ai"], made[name], args)
    made["insert"] = root / "insert.mp4"  # 4 s of another clip, then 3 s of the AI clip
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-i", str(made["other"]), "-i", str(made["ai"]),
         "-filter_complex",
         "[0:v]trim=0:4,setpts=PTS-STARTPTS[a];[1:v]trim=1:4,setpts=PTS-STARTPTS[b];"
         "[a][b]concat=n=2:v=1[v]",
         "-map", "[v]", "-c:v", "libx264", "-preset", "veryfast", str(made["insert"])],
        check=True,
    )  # fmt: skip
    return made


def _print(path: Path) -> VideoPrint:
    text = video_fingerprint(path)
    assert text is not None, path
    found = VideoPrint.decode(text)
    assert found is not None
    return found


@needs_ffmpeg
@pytest.mark.parametrize("kind", sorted(_media.VIDEO_TRANSCODES))
def test_each_transcode_matches_its_clip_as_a_whole_copy(clips, kind):
    ref = _print(clips["ai"])
    found = match_video(_print(clips[kind]), ref)
    assert found is not None and found.full, found
    assert found.distance <= 6
    if kind.startswith("trim"):
        assert found.offset == pytest.approx(1.7, abs=0.1)
    assert match_video(_print(clips[kind]), _print(clips["other"])) is None


@needs_ffmpeg
def test_a_clip_holding_three_seconds_of_the_ai_clip_is_partial(clips):
    found = match_video(_print(clips["insert"]), _print(clips["ai"]))
    assert found is not None and not found.full
    assert 2.0 <= found.matched_seconds <= 3.5
    assert found.start == pytest.approx(4.0, abs=0.3)
    assert found.start + found.offset == pytest.approx(1.0, abs=0.3)


def test_a_print_round_trips_and_garbage_is_no_print():
    p = VideoPrint(6.0, ((0.0, 123), (0.5, (1 << 63) - 1)))
    assert VideoPrint.decode(p.encode()) == p
    assert VideoPrint.decode("v1:!!!") is None
    a = AudioPrint(3.0, (1, 2, 0xFFFFFFFF))
    assert AudioPrint.decode(a.encode()) == a
    assert AudioPrint.decode("a1:xx") is None


def test_a_file_that_is_no_video_has_no_video_print(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 100)
    assert video_fingerprint(bad) is None


@pytest.fixture(scope="module")
def sounds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if shutil.which("ffmpeg") is None or shutil.which("fpcalc") is None:
        pytest.skip("ffmpeg and fpcalc (Debian packages) are needed")
    root = tmp_path_factory.mktemp("sounds")
    made = {"ai": root / "voice.wav", "other": root / "music.wav"}
    _media.make_sound(made["ai"], 1, 10.0)
    _media.make_sound(made["other"], 2, 10.0)
    for name, args in _media.AUDIO_TRANSCODES.items():
        made[name] = root / f"voice.{name}"
        _media.transcode(made["ai"], made[name], args)
    return made


def _sound(path: Path) -> AudioPrint:
    found = AudioPrint.decode(audio_fingerprint(path) or "")
    assert found is not None, path
    return found


@needs_ffmpeg
@needs_fpcalc
@pytest.mark.parametrize("kind", sorted(_media.AUDIO_TRANSCODES))
def test_each_re_encode_matches_its_sound(sounds, kind):
    found = match_audio(_sound(sounds[kind]), _sound(sounds["ai"]))
    assert found is not None and found.full, found
    assert found.ber < 0.15
    assert match_audio(_sound(sounds[kind]), _sound(sounds["other"])) is None


@needs_fpcalc
def test_silence_matches_nothing(tmp_path):
    import wave

    silent = tmp_path / "silence.wav"
    with wave.open(str(silent), "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(48000)
        fh.writeframes(b"\x00\x00" * 48000 * 8)
    q = AudioPrint.decode(audio_fingerprint(silent) or "")
    assert q is None or match_audio(q, q) is None


# ------------------------------------------------------------------ through the CLI


@pytest.fixture
def ws(runner, tmp_path: Path) -> list[str]:
    root = tmp_path / "ws"
    assert runner.invoke(cli, ["init", str(root)]).exit_code == 0
    return ["--workspace", str(root)]


def _tag(runner, ws, path: Path, tool: str) -> None:
    result = runner.invoke(cli, [*ws, "tag", str(path), "--origin", "ai-generated", "--tool", tool])
    assert result.exit_code == 0, result.output


def _copy(src: Path, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / name
    shutil.copy(src, dest)
    return dest


@needs_ffmpeg
@needs_fpcalc
def test_check_blocks_transcodes_and_reports_a_partial_clip(runner, ws, tmp_path, clips, sounds):
    _tag(runner, ws, _copy(clips["ai"], tmp_path / "gen", "runway_shot.mp4"), "Runway")
    _tag(runner, ws, _copy(sounds["ai"], tmp_path / "gen", "temp_voice.wav"), "ElevenLabs")
    delivery = tmp_path / "delivery"
    _copy(clips["prores.mov"], delivery, "sh010_v001.mov")
    _copy(clips["insert"], delivery, "sh020_cut.mp4")
    _copy(clips["other"], delivery / "plates", "sh030_plate.mp4")
    _copy(sounds["mp3.mp3"], delivery / "audio", "vo_take3.mp3")
    _copy(sounds["other"], delivery / "audio", "score.wav")
    result = runner.invoke(cli, [*ws, "check", "--format", "json", str(delivery)])
    assert result.exit_code == 1, result.output
    assets = {a["path"]: a for a in json.loads(result.stdout)["assets"]}

    def similar(name: str) -> list[str]:
        return [e["detail"] for e in assets[name]["evidence"] if e["source"] == "similar"]

    assert (assets["sh010_v001.mov"]["origin"], assets["sh010_v001.mov"]["decision"]) == (
        "ai-generated",
        "block",
    )
    assert "near-duplicate of" in similar("sh010_v001.mov")[0]
    assert "runway_shot.mp4" in similar("sh010_v001.mov")[0]
    assert assets["sh020_cut.mp4"]["origin"] == "ai-modified"
    assert assets["sh020_cut.mp4"]["decision"] == "block"
    contains = re.match(r"contains ([0-9.]+) seconds of [0-9a-f]{64} ", similar("sh020_cut.mp4")[0])
    assert contains and 2.5 <= float(contains.group(1)) <= 3.5, similar("sh020_cut.mp4")
    assert assets["audio/vo_take3.mp3"]["origin"] == "ai-generated"
    assert "bit error rate" in similar("audio/vo_take3.mp3")[0]
    for name in ("plates/sh030_plate.mp4", "audio/score.wav"):
        assert (assets[name]["origin"], assets[name]["decision"]) == ("unknown", "pass"), name


@needs_ffmpeg
def test_a_scan_records_a_transcode_of_a_known_ai_clip_as_ai(runner, ws, tmp_path, clips):
    _tag(runner, ws, _copy(clips["ai"], tmp_path / "gen", "sora.mp4"), "Sora")
    editorial = tmp_path / "editorial"
    _copy(clips["dnxhr.mov"], editorial, "A001C003.mov")
    assert runner.invoke(cli, [*ws, "scan", "--no-tag", str(editorial)]).exit_code == 0
    listed = json.loads(
        runner.invoke(cli, [*ws, "ls", "--origin", "ai-generated", "--json"]).stdout
    )
    assert any(row["path"].endswith("A001C003.mov") for row in listed), listed


def test_the_benchmark_runs_small_and_meets_its_goals():
    """The bench's small version: false matches 0 and transcodes matched, in this suite."""
    if shutil.which("ffmpeg") is None or shutil.which("fpcalc") is None:
        pytest.skip("ffmpeg and fpcalc (Debian packages) are needed")
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "nearmatch.py"), "--stills", "40", "--ai-stills",
         "5", "--clips", "6", "--ai-clips", "6", "--sounds", "5", "--ai-sounds", "5",
         "--cost-seconds", "0", "--seconds", "4", "--sound-seconds", "10"],
        capture_output=True, text=True, timeout=600, check=False, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "MISSED" not in done.stdout
    assert "distance distributions" in done.stdout
