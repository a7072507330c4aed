"""The media linker's rules: foreign paths, path maps, names, frame ranges, the store's paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance.errors import ConfigError
from provenance.gate.linker import ClipSpan, Linker, MediaIndex, normalise_foreign, parse_map
from provenance.stores import Store


@pytest.mark.parametrize(
    ("written", "foreign"),
    [
        ("S:\\path\\to\\a.exr", "S:/path/to/a.exr"),
        ("file://localhost/D%3a/media/sc01.mov", "D:/media/sc01.mov"),
        ("file:///Users/j/Desktop/x%20(loop).mp4", "/Users/j/Desktop/x (loop).mp4"),
        (
            "file://VSD/Tools_Media/Avid%20MediaFiles/a.mxf",
            "//VSD/Tools_Media/Avid MediaFiles/a.mxf",
        ),
        ("media/sh010.png", "media/sh010.png"),
    ],
    ids=["drive", "url-drive", "url-posix", "url-unc", "relative"],
)
def test_foreign_paths_are_normalised(written, foreign):
    assert normalise_foreign(written) == foreign


def test_maps_fold_case_for_drive_letters_only(tmp_path):
    drive = parse_map(f"s:\\PATH\\to={tmp_path}")
    assert drive.apply("S:/path/TO/x/a.exr") == tmp_path / "x" / "a.exr"
    assert drive.apply("S:/path/tooth/a.exr") is None
    posix = parse_map(f"/Volumes/Show={tmp_path}")
    assert posix.apply("/volumes/show/a.exr") is None
    assert posix.apply("/Volumes/Show/a.exr") == tmp_path / "a.exr"


@pytest.mark.parametrize("spec", ["no-equals", "=/x", "S:\\x="])
def test_a_malformed_map_is_refused(spec):
    with pytest.raises(ConfigError, match="FOREIGN=LOCAL"):
        parse_map(spec)


def _frames(folder: Path, prefix: str, frames: range) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for f in frames:
        (folder / f"{prefix}{f:04d}.exr").write_bytes(b"x")


def test_a_sequence_links_by_name_and_takes_the_span_with_handles(tmp_path):
    _frames(tmp_path / "sh010", "sh010_plate.", range(1001, 1101))
    linker = Linker(MediaIndex([tmp_path]), handles=2)
    link = linker.link("X:/gone/sh010_plate.1010.exr", [], tmp_path, ClipSpan(1010, 10))
    assert link.status == "linked" and link.frames == "1008-1021"
    assert len(link.files) == 14 and "file name" in link.how
    by_stem = linker.link(None, ["sh010_plate"], tmp_path, ClipSpan(1095, 6))
    assert by_stem.status == "linked" and by_stem.frames == "1093-1100"  # handles clipped
    past_the_end = linker.link(None, ["sh010_plate"], tmp_path, ClipSpan(1095, 10))
    assert past_the_end.status == "offline" and "4 frames missing" in past_the_end.reason


def test_frame_numbers_off_the_timecode_check_every_frame(tmp_path):
    _frames(tmp_path, "take_1.", range(1, 41))
    link = Linker(MediaIndex([tmp_path])).link("take_1.0001.exr", [], tmp_path, ClipSpan(86501, 31))
    assert link.status == "linked" and len(link.files) == 40
    assert "every frame checked" in link.how


def test_same_names_in_two_places_are_ambiguous(tmp_path):
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "sh030.mov").write_bytes(b"x")
    link = Linker(MediaIndex([tmp_path])).link(None, ["sh030"], tmp_path, None)
    assert link.status == "ambiguous" and len(link.candidates) == 2


def test_a_name_is_not_a_prefix_match(tmp_path):
    (tmp_path / "take_10.mov").write_bytes(b"x")
    link = Linker(MediaIndex([tmp_path])).link(None, ["take_1"], tmp_path, None)
    assert link.status == "offline" and "no match under the media roots" in link.reason


def test_a_media_root_that_is_not_a_folder_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="not a folder"):
        MediaIndex([tmp_path / "nope"])


def test_the_store_finds_live_paths_by_name_with_like_wildcards_escaped(backend, tmp_path):
    with Store(backend) as store:
        store.upsert_file("/show/a/sh_010.exr", "ab" * 32, 1, 1, 1)
        store.upsert_file("/show/b/shX010.exr", "cd" * 32, 1, 1, 2)
        store.upsert_file("/show/c/xsh_010.exr", "ef" * 32, 1, 1, 3)
        assert store.live_paths_named("sh_010.exr") == ["/show/a/sh_010.exr"]
        store.mark_gone("/show/a/sh_010.exr")
        assert store.live_paths_named("sh_010.exr") == []
