"""A property of the gate: however the real fixtures are renamed, nested in zip and tar, linked
and given sidecars, `provgate check` blocks a package exactly when some member is AI."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.main import cli
from tests.conftest import FIXTURES

AI = ["generators/comfyui.png", "generators/a1111.jpg", "generators/novelai.png",
      "c2pa/Firefly_tabby_cat.jpg"]  # fmt: skip
NOT_AI = ["c2pa/no_manifest.jpg", "c2pa/car-es-Ps-Cr.jpg", "c2pa/CA.jpg", "c2pa/sample1.wav"]
SIDECAR = "c2pa/cloud.jpg.c2pa"  # a real manifest store, unrelated to every member here

pytestmark = pytest.mark.skipif(not FIXTURES.is_dir(), reason="../shared/fixtures is missing")

_names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="/\\\x00", exclude_categories=["Cs"]),
    min_size=1,
    max_size=12,
).filter(lambda n: n not in (".", "..") and not n.lower().endswith(".c2pa"))
_member = st.fixed_dictionaries(
    {
        "fixture": st.sampled_from(AI + NOT_AI),
        "name": st.one_of(st.none(), _names),  # None keeps the fixture's own name
        "suffix": st.sampled_from(["", ".png", ".jpg", ".bin", ".tmp", ".part"]),
        "sidecar": st.booleans(),
        "link": st.booleans(),
    }
)
_layout = st.sampled_from(["folder", "zip", "tar", "tar.gz", "zip-in-tar", "tar-in-zip"])


def _files(members: list[dict]) -> dict[str, bytes]:
    """Member path -> bytes, with sidecars, under unique names."""
    out: dict[str, bytes] = {}
    for i, m in enumerate(members):
        base = m["name"] if m["name"] is not None else Path(m["fixture"]).name
        name = f"d{i}/{base}{m['suffix']}"
        out[name] = (FIXTURES / m["fixture"]).read_bytes()
        if m["sidecar"]:
            out[name + ".c2pa"] = (FIXTURES / SIDECAR).read_bytes()
    return out


def _zip_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def _tar_bytes(files: dict[str, bytes], mode: str = "w") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _build(root: Path, members: list[dict], layout: str) -> Path:
    files = _files(members)
    pkg = root / "pkg"
    pkg.mkdir()
    if layout == "folder":
        for name, data in files.items():
            target = pkg / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        for i, m in enumerate(members):
            if m["link"]:  # a link inside the package to the member's folder
                os.symlink(pkg / f"d{i}", pkg / f"link{i}")
        return pkg
    if layout == "zip":
        blob = _zip_bytes(files)
    elif layout == "tar":
        blob = _tar_bytes(files)
    elif layout == "tar.gz":
        blob = _tar_bytes(files, "w:gz")
    elif layout == "zip-in-tar":
        blob = _tar_bytes({"inner/archive.zip": _zip_bytes(files)})
    else:
        blob = _zip_bytes({"inner/archive.tar": _tar_bytes(files)})
    (pkg / "delivery.dat").write_bytes(blob)  # archives are recognised by their bytes
    return pkg


@settings(
    max_examples=16,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(members=st.lists(_member, min_size=1, max_size=4), layout=_layout)
def test_a_package_blocks_exactly_when_a_member_is_ai(members: list[dict], layout: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ws = root / "ws"
        runner = CliRunner()
        assert runner.invoke(cli, ["init", str(ws)]).exit_code == 0
        pkg = _build(root, members, layout)
        result = runner.invoke(cli, ["--workspace", str(ws), "check", str(pkg)])
        any_ai = any(m["fixture"] in AI for m in members)
        assert result.exit_code == (1 if any_ai else 0), (layout, members, result.output)
        shutil.rmtree(pkg)
