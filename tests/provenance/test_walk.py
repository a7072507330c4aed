from pathlib import Path

import pytest

from provenance.pipeline.walk import is_ignored, walk_files


@pytest.mark.parametrize(
    "name",
    [
        "plate.exr.part",
        "x.tmp",
        "a.crdownload",
        "~$notes.docx",
        ".DS_Store",
        "._plate.exr",
        ".plate.exr.Ab12Cd",
        ".plate.exr.provgate-tmp-1234",
        "plate.exr.c2pa",
    ],
)
def test_temporary_system_and_own_files_are_ignored(name: str) -> None:
    assert is_ignored(name)


@pytest.mark.parametrize("name", ["plate.1001.exr", "concept.png", "notes.txt", ".hidden.exr"])
def test_real_assets_are_not_ignored(name: str) -> None:
    assert not is_ignored(name)


def test_walk_skips_symlinked_folders_and_configured_globs(tmp_path: Path) -> None:
    (tmp_path / "show" / "sub").mkdir(parents=True)
    (tmp_path / "show" / "sub" / "a.png").write_bytes(b"x")
    (tmp_path / "show" / "b.psd").write_bytes(b"y")
    (tmp_path / "show" / "c.tmp").write_bytes(b"z")
    (tmp_path / "show" / "loop").symlink_to(tmp_path / "show")
    found = sorted(Path(s.path).name for s in walk_files(tmp_path / "show", ["*.psd"]))
    assert found == ["a.png"]
    everything = sorted(Path(s.path).name for s in walk_files(tmp_path / "show", include_all=True))
    assert everything == ["a.png", "b.psd", "c.tmp"]


def test_the_package_walk_ignores_nothing_while_the_watch_walk_keeps_its_ignore_list(
    tmp_path: Path,
) -> None:
    from provenance.pipeline.walk import walk_package

    show = tmp_path / "show"
    (show / ".git").mkdir(parents=True)
    for name in ("a.png", "a.png.c2pa", "b.provgate-tmp-1.png", ".DS_Store", "c.part"):
        (show / name).write_bytes(b"x")
    (show / ".git" / "d.png").write_bytes(b"y")
    watched = sorted(Path(s.path).name for s in walk_files(show))
    assert watched == ["a.png"]
    package = sorted(Path(e.path).name for e in walk_package(show) if e.problem is None)
    assert package == [
        ".DS_Store",
        "a.png",
        "a.png.c2pa",
        "b.provgate-tmp-1.png",
        "c.part",
        "d.png",
    ]
