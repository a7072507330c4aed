"""`provgate check` against packages built the way an attacker would hide AI material in them.

One test (or table) per attack class of issue 16; each asserts the exit code and the line
that says why. AI material comes from the shared real fixtures (ComfyUI, Firefly)."""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

import pytest

from cli.main import cli
from tests.conftest import fixture_file

AI = "generators/comfyui.png"
PLAIN = "c2pa/no_manifest.jpg"


@pytest.fixture
def ws(runner, tmp_path: Path) -> list[str]:
    root = tmp_path / "ws"
    assert runner.invoke(cli, ["init", str(root)]).exit_code == 0
    return ["--workspace", str(root)]


def check(runner, ws: list[str], *args: str):
    result = runner.invoke(cli, [*ws, "check", "--format", "json", *args])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def blocked(report: dict) -> dict[str, str]:
    return {
        a["path"]: " | ".join(a["reasons"]) for a in report["assets"] if a["decision"] == "block"
    }


def put(src: str, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(fixture_file(src), dest)
    return dest


# --- files the walk never judged --------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["shot.png.c2pa", "shot.provgate-tmp-1234.png", ".DS_Store", "plate.exr.part", "x.c2pa"],
    ids=["sidecar-name", "tag-temp-name", "system-name", "partial-name", "bare-c2pa"],
)
def test_ai_material_under_any_name_is_judged(runner, ws, tmp_path, name):
    pkg = tmp_path / "pkg"
    put(PLAIN, pkg / "ok.jpg")
    put(AI, pkg / "sub" / name)
    code, report = check(runner, ws, str(pkg))
    assert code == 1
    assert set(blocked(report)) == {f"sub/{name}"}
    reason = blocked(report)[f"sub/{name}"]
    assert "ai-generated" in reason or "not a readable C2PA manifest store" in reason


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_archive_members_under_any_name_are_judged(runner, ws, tmp_path, kind):
    data = fixture_file(AI).read_bytes()
    archive = tmp_path / f"delivery.{kind}"
    names = ["a.png.c2pa", "b.provgate-tmp-1.png", "._c.png"]
    if kind == "zip":
        with zipfile.ZipFile(archive, "w") as z:
            for n in names:
                z.writestr(n, data)
    else:
        with tarfile.open(archive, "w") as t:
            for n in names:
                info = tarfile.TarInfo(n)
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
    code, report = check(runner, ws, str(archive))
    assert code == 1 and set(blocked(report)) == set(names)


def test_a_symlinked_folder_inside_the_package_is_followed_once(runner, ws, tmp_path):
    pkg = tmp_path / "pkg"
    put(AI, pkg / "real" / "gen.png")
    (pkg / "alias").symlink_to(pkg / "real")
    (pkg / "real" / "loop").symlink_to(pkg)
    code, report = check(runner, ws, str(pkg))
    assert code == 1
    problems = blocked(report)
    (gen,) = [a for a in report["assets"] if a["path"].endswith("/gen.png")]  # walked once
    assert "ai-generated" in problems[gen["path"]]
    (loop,) = [p for p in problems if p.endswith("/loop")]
    assert "link loop" in problems[loop]


def test_a_symlinked_folder_alone_in_the_package_is_judged(runner, ws, tmp_path):
    put(AI, tmp_path / "elsewhere" / "inside" / "gen.png")
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    shutil.copytree(tmp_path / "elsewhere", pkg / "real")
    (pkg / "link").symlink_to(pkg / "real" / "inside")
    shutil.rmtree(pkg / "real" / "inside")
    (pkg / "real" / "inside").mkdir()
    put(AI, pkg / "real" / "inside" / "gen.png")
    code, report = check(runner, ws, str(pkg))
    assert code == 1 and any("gen.png" in p for p in blocked(report))


def test_links_out_of_the_package_and_special_files_block(runner, ws, tmp_path):
    put(AI, tmp_path / "outside" / "gen.png")
    pkg = tmp_path / "pkg"
    put(PLAIN, pkg / "ok.jpg")
    (pkg / "out_dir").symlink_to(tmp_path / "outside")
    (pkg / "out_file.png").symlink_to(tmp_path / "outside" / "gen.png")
    (pkg / "dangling.png").symlink_to(pkg / "nothing.png")
    os.mkfifo(pkg / "pipe.png")
    code, report = check(runner, ws, str(pkg))
    assert code == 1
    problems = blocked(report)
    assert "leaves the package" in problems["out_dir"]
    assert "leaves the package" in problems["out_file.png"]
    assert "missing file" in problems["dangling.png"]
    assert "FIFO" in problems["pipe.png"]
    assert "ok.jpg" not in problems


# --- a sidecar must not hide the embedded manifest --------------------------------------------


def test_an_unrelated_sidecar_does_not_hide_an_embedded_ai_manifest(runner, ws, tmp_path):
    pkg = tmp_path / "pkg"
    put("c2pa/Firefly_tabby_cat.jpg", pkg / "cat.jpg")
    put("c2pa/cloud.jpg.c2pa", pkg / "cat.jpg.c2pa")
    code, report = check(runner, ws, "--strict", str(pkg))
    assert code == 1
    cat = next(a for a in report["assets"] if a["path"] == "cat.jpg")
    assert cat["origin"] == "ai-generated" and cat["decision"] == "block"
    assert any("sidecar C2PA manifest does not validate" in r for r in cat["reasons"])
    sidecar = next(a for a in report["assets"] if a["path"] == "cat.jpg.c2pa")
    assert sidecar["decision"] == "pass" and sidecar["media_type"] == "application/c2pa"


def _sign_sidecar(ws: list[str], asset: Path, source_type: str) -> None:
    """A sidecar anyone could sign (here with the workspace's own development signer)."""
    import c2pa

    from provenance.c2pa.context import c2pa_context
    from provenance.c2pa.signing import signer_from_config
    from provenance.workspace import open_workspace

    config = open_workspace(Path(ws[1])).config
    dst = f"http://cv.iptc.org/newscodes/digitalsourcetype/{source_type}"
    manifest = {
        "claim_generator_info": [{"name": "camera"}],
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": dst}]},
            }
        ],
    }
    with c2pa.Builder(manifest, c2pa_context(config)) as builder:
        builder.set_no_embed()
        with signer_from_config(config).session() as signer, open(asset, "rb") as src:
            data = builder.sign(signer, "image/jpeg", src, io.BytesIO())
    asset.with_name(asset.name + ".c2pa").write_bytes(data)


def test_a_signed_capture_sidecar_does_not_clear_an_embedded_ai_manifest(runner, ws, tmp_path):
    cat = put("c2pa/Firefly_tabby_cat.jpg", tmp_path / "pkg" / "cat.jpg")
    _sign_sidecar(ws, cat, "digitalCapture")
    code, report = check(runner, ws, "--strict", str(tmp_path / "pkg"))
    assert code == 1
    verdict = next(a for a in report["assets"] if a["path"] == "cat.jpg")
    assert verdict["origin"] == "ai-generated" and verdict["decision"] == "block"
    assert {e["source"] for e in verdict["evidence"]} >= {"c2pa", "c2pa-sidecar"}


def test_a_valid_capture_sidecar_conflicting_with_ai_metadata_is_reported(runner, ws, tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    plain = fixture_file(PLAIN).read_bytes()
    ai = _xmp_segment(
        b'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/'
        b'digitalsourcetype/trainedAlgorithmicMedia"'
    )
    still = pkg / "still.jpg"
    still.write_bytes(plain[:2] + ai + plain[2:])
    _sign_sidecar(ws, still, "digitalCapture")
    code, report = check(runner, ws, str(pkg))
    assert code == 1
    verdict = next(a for a in report["assets"] if a["path"] == "still.jpg")
    assert verdict["origin"] == "ai-generated"
    (conflict,) = [r for r in verdict["reasons"] if r.startswith("evidence conflicts")]
    assert "xmp declare AI" in conflict and "c2pa-sidecar declare non-AI" in conflict


def _xmp_segment(body: bytes) -> bytes:
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        + body
        + b"/></rdf:RDF></x:xmpmeta>"
    )
    seg = b"http://ns.adobe.com/xap/1.0/\x00" + xmp
    return b"\xff\xe1" + struct.pack(">H", len(seg) + 2) + seg


# --- silent caps --------------------------------------------------------------------------


def _png_chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def _split_png(data: bytes) -> tuple[bytes, bytes]:
    """(signature + IHDR, the rest)."""
    ihdr_end = 8 + 8 + 13 + 4
    return data[:ihdr_end], data[ihdr_end:]


@pytest.mark.parametrize("junk", [10_000, 60_000], ids=["10k-chunks", "60k-chunks"])
def test_a_png_chunk_flood_before_the_generator_text_blocks(runner, ws, tmp_path, junk):
    head, rest = _split_png(fixture_file(AI).read_bytes())
    flood = _png_chunk(b"juNk", b"") * junk
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "flood.png").write_bytes(head + flood + rest)
    code, report = check(runner, ws, str(pkg))
    assert code == 1
    assert "ai-generated" in blocked(report)["flood.png"]


def test_an_ai_declaration_in_a_late_xmp_packet_is_read(runner, ws, tmp_path):
    plain = fixture_file(PLAIN).read_bytes()
    packet = _xmp_segment
    filler = b"".join(packet(b'Iptc4xmpExt:Title="x"') for _ in range(12))
    ai = packet(
        b'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/'
        b'digitalsourcetype/trainedAlgorithmicMedia"'
    )
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "late.jpg").write_bytes(plain[:2] + filler + ai + plain[2:])
    code, report = check(runner, ws, str(pkg))
    assert code == 1 and "ai-generated" in blocked(report)["late.jpg"]


# --- containers inside packages ------------------------------------------------------------


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def test_archives_inside_folders_and_archives_are_opened(runner, ws, tmp_path):
    ai = fixture_file(AI).read_bytes()
    inner = _zip(tmp_path / "inner.zip", {"deep/gen.png": ai})
    tar_path = tmp_path / "middle.tar.gz"
    with tarfile.open(tar_path, "w:gz") as t:
        t.add(inner, arcname="renders/inner.bin")  # renamed: recognised by its bytes
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    shutil.copyfile(tar_path, pkg / "middle.dat")
    put(PLAIN, pkg / "ok.jpg")
    code, report = check(runner, ws, str(pkg))
    assert code == 1
    assert set(blocked(report)) == {"middle.dat/renders/inner.bin/deep/gen.png"}


def test_an_archive_format_provgate_cannot_read_blocks(runner, ws, tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "renders.7z").write_bytes(b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 64)
    (pkg / "renders.bin").write_bytes(b"Rar!\x1a\x07\x01\x00" + b"\x00" * 64)
    code, report = check(runner, ws, str(pkg))
    assert code == 1
    assert "cannot read (application/x-7z-compressed)" in blocked(report)["renders.7z"]
    assert "cannot read (application/vnd.rar)" in blocked(report)["renders.bin"]


def test_archives_nested_too_deep_block(runner, ws, tmp_path):
    data = fixture_file(PLAIN).read_bytes()
    current = tmp_path / "level0.zip"
    _zip(current, {"plain.jpg": data})
    for level in range(1, 11):
        nxt = tmp_path / f"level{level}.zip"
        _zip(nxt, {current.name: current.read_bytes()})
        current = nxt
    code, report = check(runner, ws, str(current))
    assert code == 1
    ((path, why),) = blocked(report).items()
    assert "nested more than 8 deep" in why


# --- zip structure disagreements -------------------------------------------------------------


def _local(name: bytes, data: bytes, *, method: int = 0, size: int | None = None) -> bytes:
    """A zip local header and its data (`data` already compressed when `method` is 8)."""
    usize = len(data) if size is None else size
    crc = zlib.crc32(data) if size is None else zlib.crc32(b"\0" * size)
    fields = (b"PK\x03\x04", 20, 0, method, 0, 0, crc, len(data), usize, len(name), 0)
    return struct.pack("<4s5H3I2H", *fields) + name + data


def _central(local: bytes, offset: int, name: bytes | None = None) -> bytes:
    """The central directory record for the local entry `local` written at `offset`."""
    _, _, _, method, _, _, crc, csize, usize, nlen, _ = struct.unpack_from("<4s5H3I2H", local)
    name = name or local[30 : 30 + nlen]
    fields = (b"PK\x01\x02", 20, 20, 0, method, 0, 0, crc, csize, usize, len(name), 0, 0, 0, 0)
    return struct.pack("<4s6H3I5H2I", *fields, 0, offset) + name


def _zip_of(body: bytes, records: list[bytes]) -> bytes:
    cd = b"".join(records)
    n = len(records)
    return body + cd + struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, n, n, len(cd), len(body), 0)


def _hand_zip(shape: str, plain: bytes, ai: bytes) -> bytes:
    """Zips a normal reader accepts but a streaming extractor reads differently."""
    if shape == "unlisted":  # the AI entry has a local header but no directory record
        first = _local(b"ok.jpg", plain)
        return _zip_of(first + _local(b"hidden.png", ai), [_central(first, 0)])
    if shape == "overlap":  # the AI entry's header and data sit inside the first entry's data
        inner = _local(b"inner.png", ai)
        outer = _local(b"ok.jpg", inner + plain)
        return _zip_of(outer, [_central(outer, 0), _central(inner, 30 + len(b"ok.jpg"))])
    first, second = _local(b"a.png", plain), _local(b"a.png", ai)  # one name, two entries
    return _zip_of(first + second, [_central(first, 0), _central(second, len(first))])


@pytest.mark.parametrize(
    "shape, why",
    [
        ("unlisted", "does not list"),
        ("overlap", "overlap"),
        ("duplicate", "twice"),
    ],
)
def test_a_zip_whose_directories_disagree_blocks(runner, ws, tmp_path, shape, why):
    plain = fixture_file(PLAIN).read_bytes()
    ai = fixture_file(AI).read_bytes()
    data = _hand_zip(shape, plain, ai)
    archive = tmp_path / "delivery.zip"
    archive.write_bytes(data)
    assert zipfile.ZipFile(archive).testzip() is None  # a normal reader is happy with it
    code, report = check(runner, ws, str(archive))
    assert code == 1
    ((path, reason),) = blocked(report).items()
    assert why in reason and "refused" in reason


# --- resource exhaustion -------------------------------------------------------------------


def test_a_tar_with_a_huge_long_name_header_is_refused_without_reading_it(runner, ws, tmp_path):
    archive = tmp_path / "longname.tar.gz"
    size = 64 << 20  # enough to pass the header limit; the bench uses 2 GiB
    header = tarfile.TarInfo("././@LongLink")
    header.type = tarfile.GNUTYPE_LONGNAME
    header.size = size
    import gzip

    with gzip.open(archive, "wb", compresslevel=1) as gz:
        gz.write(header.tobuf(format=tarfile.GNU_FORMAT))
        block = b"a" * (1 << 20)
        for _ in range(size >> 20):
            gz.write(block)
    import tracemalloc

    tracemalloc.start()
    try:
        code, report = check(runner, ws, str(archive))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < size // 4  # the header was never read into memory (by any reader)
    assert code == 1
    ((path, reason),) = blocked(report).items()
    assert "GNU long-name header" in reason and "refused" in reason


def test_a_zip_of_many_entries_sharing_one_stream_is_refused(runner, ws, tmp_path):
    # The overlapping-entry bomb: every directory entry points at the same compressed stream.
    stream = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = stream.compress(b"\0" * (32 << 20)) + stream.flush()
    local = _local(b"a.exr", payload, method=8, size=32 << 20)
    records = [_central(local, 0, f"{i:03d}.exr".encode() if i else None) for i in range(200)]
    archive = tmp_path / "overlap.zip"
    archive.write_bytes(_zip_of(local, records))
    code, report = check(runner, ws, str(archive))
    assert code == 1
    ((path, reason),) = blocked(report).items()
    assert "refused" in reason


# --- names that write to the terminal ------------------------------------------------------

FORGED = "evil\nPASS: pkg - 1 assets, 0 blocked, 0 AI (0 approved), 0 unknown, 0 errors\x1b[2K"


@pytest.mark.parametrize("fmt", ["text", "junit", "html"])
def test_a_name_cannot_forge_report_lines_or_drive_the_terminal(runner, ws, tmp_path, fmt):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    name = FORGED + os.fsdecode(b"\xff") + ".png"  # not UTF-8 either
    shutil.copyfile(fixture_file(AI), os.path.join(os.fsencode(pkg), os.fsencode(name)))
    result = runner.invoke(cli, [*ws, "check", "--format", fmt, str(pkg)])
    assert result.exit_code == 1
    assert "\x1b" not in result.stdout
    assert not any(line.startswith("PASS") for line in result.stdout.splitlines())
    assert "evil\\x0aPASS: pkg" in result.stdout and "\\x1b[2K\\xff.png" in result.stdout
    if fmt == "text":
        assert result.stdout.splitlines()[0] == "BLOCK  " + (
            "evil\\x0aPASS: pkg - 1 assets, 0 blocked, 0 AI (0 approved), 0 unknown, 0 errors"
            "\\x1b[2K\\xff.png"
        )


def test_json_keeps_the_exact_name_and_inspect_escapes_it(runner, ws, tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    raw = os.fsencode(FORGED) + b"\xff.png"
    target = os.path.join(os.fsencode(pkg), raw)
    shutil.copyfile(fixture_file(AI), target)
    out = tmp_path / "report.json"
    result = runner.invoke(cli, [*ws, "check", "--format", "json", "-o", str(out), str(pkg)])
    assert result.exit_code == 1
    (asset,) = json.loads(out.read_text("utf-8"))["assets"]
    assert os.fsencode(asset["path"]) == raw  # JSON round-trips the bytes
    shown = runner.invoke(cli, [*ws, "inspect", os.fsdecode(target)])
    assert shown.exit_code == 0 and shown.stdout.splitlines()[0].endswith("\\x1b[2K\\xff.png")
    assert "\x1b" not in shown.stdout and "\nPASS" not in shown.stdout


def _declared_png(path: Path, width: int, height: int) -> Path:
    """A small PNG that declares a huge picture (its rows of zeros compress ~1000:1)."""
    stream = zlib.compressobj(9)
    rows = b"".join(stream.compress(b"\0" * (width * 3 + 1)) for _ in range(64)) + stream.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", rows)
        + _png_chunk(b"IEND", b"")
    )
    return path


def test_an_image_declaring_absurd_dimensions_is_refused_with_a_reason(runner, ws, tmp_path):
    put(AI, tmp_path / "show" / "gen.png")
    assert runner.invoke(cli, [*ws, "scan", "--no-tag", str(tmp_path / "show")]).exit_code == 0
    big = _declared_png(tmp_path / "pkg" / "matte.png", 13000, 13000)
    assert big.stat().st_size < 1 << 20
    code, report = check(runner, ws, str(big.parent))
    assert code == 1
    reason = blocked(report)["matte.png"]
    assert "cannot be compared with the known AI images" in reason
    assert "13000x13000 pixels" in reason


# --- formats without a reader --------------------------------------------------------------

COMFY_PROMPT = '{"3": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20}}}'
COMFY_WORKFLOW = '{"last_node_id": 9, "nodes": [{"id": 3, "type": "KSampler"}]}'
_VIDEO = ["-f", "lavfi", "-i", "color=c=red:s=16x16:d=0.1"]
_AUDIO = ["-f", "lavfi", "-i", "sine=d=0.1"]
_TAGS = ["-metadata", f"prompt={COMFY_PROMPT}", "-metadata", f"workflow={COMFY_WORKFLOW}"]


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("clip.webm", [*_VIDEO, "-c:v", "libvpx", *_TAGS]),
        (
            "clip.mkv",
            [
                *_VIDEO,
                "-c:v",
                "libvpx",
                "-attach",
                "{workflow}",
                "-metadata:s:t",
                "mimetype=application/json",
            ],
        ),
        ("voice.mka", [*_AUDIO, "-c:a", "libopus", *_TAGS]),
        ("clip.mp4", [*_VIDEO, "-c:v", "libx264", "-movflags", "use_metadata_tags", *_TAGS]),
        ("clip.mov", [*_VIDEO, "-c:v", "libx264", "-movflags", "use_metadata_tags", *_TAGS]),
        ("take.flac", [*_AUDIO, "-c:a", "flac", *_TAGS]),
        ("take.ogg", [*_AUDIO, "-c:a", "libvorbis", *_TAGS]),
        ("take.opus", [*_AUDIO, "-c:a", "libopus", *_TAGS]),
    ],
    ids=["webm-tags", "mkv-attachment", "mka-tags", "mp4", "mov", "flac", "ogg-vorbis", "opus"],
)
def test_generator_metadata_in_video_and_audio_containers_blocks(runner, ws, tmp_path, name, args):
    import subprocess

    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.skip("ffmpeg is not installed (.ci/run installs it)")
    workflow = tmp_path / "workflow.json"
    workflow.write_text(COMFY_WORKFLOW)
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    args = [a.replace("{workflow}", str(workflow)) for a in args]
    subprocess.run([ffmpeg, "-v", "error", *args, "-y", str(pkg / name)], check=True)
    code, report = check(runner, ws, str(pkg))
    assert code == 1
    assert "ai-generated (ComfyUI)" in blocked(report)[name]


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_links_inside_an_archive_are_judged_with_their_target_bytes(runner, ws, tmp_path, kind):
    ai = fixture_file(AI).read_bytes()
    archive = tmp_path / f"links.{kind}"
    links = {"renders/alias.png": "../src/gen.bin", "gone.png": "src/nothing.bin"}
    if kind == "tar":
        with tarfile.open(archive, "w") as t:
            info = tarfile.TarInfo("src/gen.bin")
            info.size = len(ai)
            t.addfile(info, io.BytesIO(ai))
            for name, target in links.items():
                link = tarfile.TarInfo(name)
                link.type, link.linkname = tarfile.SYMTYPE, target
                t.addfile(link)
    else:
        with zipfile.ZipFile(archive, "w") as z:
            z.writestr("src/gen.bin", ai)
            for name, target in links.items():
                link = zipfile.ZipInfo(name)
                link.external_attr = 0o120777 << 16
                z.writestr(link, target)
    code, report = check(runner, ws, str(archive))
    assert code == 1
    problems = blocked(report)
    assert "ai-generated" in problems["src/gen.bin"]
    assert "ai-generated" in problems["renders/alias.png"]  # judged under the link's name
    assert "does not hold" in problems["gone.png"]


def test_a_zip_container_carrying_its_own_ai_manifest_is_judged_as_an_asset(runner, ws, tmp_path):
    import c2pa

    from provenance.c2pa.context import c2pa_context
    from provenance.c2pa.signing import signer_from_config
    from provenance.workspace import open_workspace

    config = open_workspace(Path(ws[1])).config
    plain = tmp_path / "plain.docx"
    with zipfile.ZipFile(plain, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    dst = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
    manifest = {
        "claim_generator_info": [{"name": "writer"}],
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": dst}]},
            }
        ],
    }
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    signed = pkg / "script.bin"  # an Office file under another name
    with (
        c2pa.Builder(manifest, c2pa_context(config)) as builder,
        signer_from_config(config).session() as signer,
        open(plain, "rb") as src,
        open(signed, "w+b") as out,
    ):
        builder.sign(signer, "application/x-zip", src, out)
    code, report = check(runner, ws, str(pkg))
    assert code == 1
    assert "ai-generated (writer)" in blocked(report)["script.bin"]
    assert "script.bin/word/document.xml" not in blocked(report)
