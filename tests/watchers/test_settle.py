"""Settling with an injected clock: no threads, no sleeps."""

from pathlib import Path

from watchers.settle import Settler


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_file_still_being_written_is_not_due(tmp_path: Path) -> None:
    clock = Clock()
    settler = Settler(2.0, clock)
    f = tmp_path / "plate.exr"
    f.write_bytes(b"a" * 10)
    settler.touch(str(f))
    clock.now = 1.0
    assert settler.due() == []
    with f.open("ab") as fh:  # the copy goes on, with no event seen
        fh.write(b"b" * 10)
    clock.now = 2.5
    assert settler.due() == []  # changed since it was touched: the quiet period restarts
    clock.now = 4.0
    assert settler.due() == []
    clock.now = 4.6
    assert settler.due() == [str(f)]
    assert len(settler) == 0


def test_a_file_that_vanishes_before_settling_is_dropped(tmp_path: Path) -> None:
    clock = Clock()
    settler = Settler(1.0, clock)
    f = tmp_path / "x.png"
    f.write_bytes(b"x")
    settler.touch(str(f))
    f.unlink()
    clock.now = 5
    assert settler.due() == []
    assert len(settler) == 0
