from provenance.sequences import group_sequences


def row(path: str, origin: str = "unknown") -> dict:
    return {"path": path, "origin": origin, "status": None, "content_id": path}


def test_frame_sequences_become_one_row_but_movies_stay_single() -> None:
    rows = [row(f"/show/sh010/sh010_plate.{f}.exr") for f in range(1001, 1097)]
    rows += [row("/show/sh010/sh010_comp_v003.mov"), row("/show/sh010/sh010_comp_v004.mov")]
    out = group_sequences(rows)
    assert [r["path"] for r in out] == [
        "/show/sh010/sh010_comp_v003.mov",
        "/show/sh010/sh010_comp_v004.mov",
        "/show/sh010/sh010_plate.[1001-1096].exr",
    ]


def test_frames_of_different_origin_are_not_merged() -> None:
    rows = [row(f"/s/a.{f}.png") for f in (1, 2)] + [row("/s/a.3.png", "ai-generated")]
    out = group_sequences(rows)
    assert len(out) == 2
