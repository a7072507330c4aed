"""The compact poller (watchers/polling.py) on a real tree: every change one cycle can see,
named as watchdog names it, and nothing for a tree that did not change."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from watchers.polling import Changes, poll


def _cycle(root: Path, tree):
    changes = Changes()
    tree = poll(str(root), tree, changes)
    return tree, {(type(e).__name__, e.src_path, e.dest_path or None) for e in changes.events()}


def test_one_cycle_names_every_change(tmp_path: Path) -> None:
    root = tmp_path / "show"
    (root / "sh010").mkdir(parents=True)
    (root / "sh020" / "deep").mkdir(parents=True)
    for name in ("a.exr", "b.exr", "c.exr", "d.exr"):
        (root / "sh010" / name).write_bytes(b"frame " + name.encode())
    (root / "sh020" / "deep" / "e.exr").write_bytes(b"e")
    (root / "sh020" / "f.exr").write_bytes(b"f")
    tree = poll(str(root), {}, None)
    tree, found = _cycle(root, tree)
    assert found == set()  # nothing changed

    s1, s2 = root / "sh010", root / "sh020"
    (s1 / "a.exr").write_bytes(b"frame a, graded")  # modified in place
    os.rename(s1 / "b.exr", s2 / "b.exr")  # moved to another folder
    os.rename(s1 / "c.exr", s1 / "c2.exr")  # renamed in its folder
    (s1 / "new.exr").write_bytes(b"new")
    (s1 / "d.tmp").write_bytes(b"another file, same name")
    os.replace(s1 / "d.tmp", s1 / "d.exr")  # replaced whole (an atomic write): a new inode
    # (files are made before others go: a freed inode given to a new file looks like a move
    # to any poller, watchdog's too)
    (s2 / "deep" / "e.exr").unlink()
    (s2 / "deep").rmdir()
    os.utime(s2 / "f.exr", ns=(1, 1))  # touched: its mtime is all that changed
    tree, found = _cycle(root, tree)
    assert found == {
        ("FileModifiedEvent", str(s1 / "a.exr"), None),
        ("FileMovedEvent", str(s1 / "b.exr"), str(s2 / "b.exr")),
        ("FileMovedEvent", str(s1 / "c.exr"), str(s1 / "c2.exr")),
        ("FileDeletedEvent", str(s1 / "d.exr"), None),
        ("FileCreatedEvent", str(s1 / "d.exr"), None),
        ("FileCreatedEvent", str(s1 / "new.exr"), None),
        ("FileDeletedEvent", str(s2 / "deep" / "e.exr"), None),
        ("DirDeletedEvent", str(s2 / "deep"), None),
        ("FileModifiedEvent", str(s2 / "f.exr"), None),
    }
    tree, found = _cycle(root, tree)
    assert found == set()


def test_links_are_not_followed_into_folders_and_a_missing_root_raises(tmp_path: Path) -> None:
    root = tmp_path / "show"
    (root / "sh010").mkdir(parents=True)
    (root / "sh010" / "a.exr").write_bytes(b"a")
    (root / "loop").symlink_to(root, target_is_directory=True)
    tree = poll(str(root), {}, None)
    assert sorted(tree) == [str(root), str(root / "sh010")]
    assert tree[str(root / "sh010")].keys() == {"a.exr"}
    with pytest.raises(FileNotFoundError):
        poll(str(tmp_path / "gone"), tree, Changes())
