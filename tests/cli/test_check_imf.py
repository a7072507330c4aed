"""`provgate check IMP`: IMF packages verified against their packing lists, then judged."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from cli.main import cli
from tests.conftest import copy_fixture, fixture_file


@pytest.fixture
def ws(runner, tmp_path: Path) -> list[str]:
    root = tmp_path / "ws"
    assert runner.invoke(cli, ["init", str(root)]).exit_code == 0
    return ["--workspace", str(root)]


def check(runner, ws, *args: str):
    return runner.invoke(cli, [*ws, "check", *args])


def blocked(runner, ws, *args: str) -> dict[str, list[str]]:
    result = check(runner, ws, "--json", *args)
    data = json.loads(result.stdout)
    return {a["path"]: a["reasons"] for a in data["assets"] if a["decision"] == "block"}


def imp_copy(tmp_path: Path, name: str = "HT_IMP") -> Path:
    dest = tmp_path / name
    shutil.copytree(fixture_file(f"imf/{name}"), dest)
    for p in dest.iterdir():
        p.chmod(0o644)
    return dest


SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"


def sha1(path: Path) -> str:
    return base64.b64encode(hashlib.sha1(path.read_bytes()).digest()).decode()


def add_asset(imp: Path, file: Path, uuid: str) -> None:
    """List a file in the ASSETMAP and the packing list, with its true size and hash."""
    am = imp / "ASSETMAP.xml"
    entry = (f"<Asset><Id>urn:uuid:{uuid}</Id><ChunkList><Chunk><Path>{file.name}</Path>"
             "</Chunk></ChunkList></Asset>")  # fmt: skip
    am.write_text(am.read_text().replace("</AssetList>", entry + "</AssetList>", 1))
    pkl = next(imp.glob("PKL_*.xml"))
    entry = (f"<Asset><Id>urn:uuid:{uuid}</Id><Hash>{sha1(file)}</Hash>"
             f"<Size>{file.stat().st_size}</Size><Type>image/png</Type>"
             f'<HashAlgorithm Algorithm="{SHA1}"/></Asset>')  # fmt: skip
    pkl.write_text(pkl.read_text().replace("</AssetList>", entry + "</AssetList>", 1))


def test_the_complete_imp_passes_every_asset_verified(runner, ws):
    result = check(runner, ws, str(fixture_file("imf/HT_IMP")))
    assert result.exit_code == 0, result.output
    assert "PASS" in result.stdout and "4 assets, 0 blocked" in result.stdout


def test_the_isxd_imp_is_not_what_was_packed(runner, ws):
    found = blocked(runner, ws, str(fixture_file("imf/ISXD_CompleteIMP")))
    why = " ".join(found["CPL_ISXD_TEST_1.xml"])
    assert "18415 bytes where the packing list says 18354" in why
    assert "SHA1 is not the packing list's" in why
    assert check(runner, ws, str(fixture_file("imf/ISXD_CompleteIMP"))).exit_code == 1


def test_the_broken_imp_reports_missing_files_and_missing_assetmap_entries(runner, ws):
    found = blocked(runner, ws, str(fixture_file("imf/MissingFilesAndAssetMapEntries")))
    missing = [p for p, r in found.items() if any(x.startswith("missing:") for x in r)]
    assert sorted(missing) == [
        "OPL_8cf83c32-4949-4f00-b081-01e12b18932f.xml",
        "VIDEO_a3542de6-5010-41aa-8ab0-d90b90b7f5dc.mxf",
    ]
    no_entry = [p for p, r in found.items() if any("not in the ASSETMAP" in x for x in r)]
    assert set(no_entry) == {
        "AUDIO_bc1a3912-a90a-41b2-b16c-0915a2a1e088.mxf",
        "CPL_ab38ef76-30fa-4b18-91d2-1ef95e206b46.xml",
        # and so the CPL's audio track file does not resolve
        "CPL_ab38ef76-30fa-4b18-91d2-1ef95e206b46.xml: track file "
        "urn:uuid:bc1a3912-a90a-41b2-b16c-0915a2a1e088",
    }


def test_a_track_file_changed_after_packing_blocks_with_the_hash(runner, ws, tmp_path):
    imp = imp_copy(tmp_path)
    mxf = next(imp.glob("AUDIO_*.mxf"))
    data = bytearray(mxf.read_bytes())
    data[-100] ^= 0xFF
    mxf.write_bytes(bytes(data))
    found = blocked(runner, ws, str(imp))
    assert list(found) == [mxf.name]
    assert "SHA1 is not the packing list's" in found[mxf.name][0]


def test_a_listed_and_verified_supplemental_ai_file_is_judged_and_blocks(runner, ws, tmp_path):
    imp = imp_copy(tmp_path)
    still = copy_fixture("generators/a1111.png", imp)
    add_asset(imp, still, "0c1e5f1a-0000-4000-8000-00000000a111")
    found = blocked(runner, ws, str(imp))
    assert list(found) == ["a1111.png"]
    assert "ai-generated" in found["a1111.png"][0]


def test_a_file_the_assetmap_does_not_list_is_judged_and_blocks(runner, ws, tmp_path):
    imp = imp_copy(tmp_path)
    copy_fixture("c2pa/no_manifest.jpg", imp)
    found = blocked(runner, ws, str(imp))
    assert found == {"no_manifest.jpg": ["not listed in the ASSETMAP", found["no_manifest.jpg"][1]]}


def test_an_assetmap_path_out_of_the_package_is_refused(runner, ws, tmp_path):
    imp = imp_copy(tmp_path)
    am = imp / "ASSETMAP.xml"
    text = am.read_text()
    video = re.search(r"<Path>(VIDEO_[^<]+)</Path>", text).group(1)
    am.write_text(text.replace(f"<Path>{video}</Path>", "<Path>../../etc/passwd</Path>"))
    found = blocked(runner, ws, str(imp))
    assert "ASSETMAP path leaves the package: refused" in found["../../etc/passwd"]


def test_a_supplemental_package_resolves_track_files_in_the_original(runner, ws, tmp_path):
    original = imp_copy(tmp_path)
    supp = tmp_path / "SUPP"
    supp.mkdir()
    cpl = next(original.glob("CPL_*.xml"))
    shutil.copy(cpl, supp / cpl.name)
    cpl_id = re.search(r"<Id>(urn:uuid:[^<]+)</Id>", cpl.read_text()).group(1)
    pkl_id = "urn:uuid:5e5e5e5e-0000-4000-8000-000000000001"
    (supp / "PKL.xml").write_text(
        '<PackingList xmlns="http://www.smpte-ra.org/schemas/2067-2/2016/PKL">'
        f"<Id>{pkl_id}</Id><AssetList><Asset><Id>{cpl_id}</Id><Hash>{sha1(supp / cpl.name)}"
        f"</Hash><Size>{cpl.stat().st_size}</Size><Type>text/xml</Type></Asset></AssetList>"
        "</PackingList>"
    )
    (supp / "ASSETMAP.xml").write_text(
        '<AssetMap xmlns="http://www.smpte-ra.org/schemas/429-9/2007/AM"><AssetList>'
        f"<Asset><Id>{pkl_id}</Id><PackingList>true</PackingList><ChunkList><Chunk>"
        "<Path>PKL.xml</Path></Chunk></ChunkList></Asset>"
        f"<Asset><Id>{cpl_id}</Id><ChunkList><Chunk><Path>{cpl.name}</Path></Chunk>"
        "</ChunkList></Asset></AssetList></AssetMap>"
    )
    alone = blocked(runner, ws, str(supp))
    assert len(alone) == 2 and all("unresolved track file" in r[0] for r in alone.values())
    result = check(runner, ws, str(supp), str(original))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("kind", ["zip", "tar", "gztar"])
def test_an_imp_inside_an_archive_is_checked_as_an_imp(runner, ws, tmp_path, kind):
    imp = imp_copy(tmp_path)
    archive = Path(shutil.make_archive(str(tmp_path / "delivery"), kind, tmp_path, "HT_IMP"))
    result = check(runner, ws, str(archive))
    assert result.exit_code == 0, result.output
    assert "4 assets, 0 blocked" in result.stdout
    mxf = next(imp.glob("VIDEO_*.mxf"))
    data = bytearray(mxf.read_bytes())
    data[4096] ^= 0x01
    mxf.write_bytes(bytes(data))
    archive = Path(shutil.make_archive(str(tmp_path / "tampered"), kind, tmp_path, "HT_IMP"))
    found = blocked(runner, ws, str(archive))
    assert list(found) == [f"{archive.name}/HT_IMP/{mxf.name}"]
    assert "SHA1 is not the packing list's" in found[f"{archive.name}/HT_IMP/{mxf.name}"][0]


def test_a_track_file_judged_by_its_sidecar_blocks_until_approved(runner, ws, tmp_path):
    imp = imp_copy(tmp_path)
    mxf = next(imp.glob("AUDIO_*.mxf"))
    tag = [*ws, "tag", str(mxf), "--origin", "ai-generated", "--tool", "ElevenLabs"]
    assert runner.invoke(cli, [*tag, "--use", "background-element"]).exit_code == 0
    assert (imp / f"{mxf.name}.c2pa").is_file()  # MXF carries no manifest: a sidecar
    fresh = tmp_path / "elsewhere"
    assert runner.invoke(cli, ["init", str(fresh)]).exit_code == 0
    found = blocked(runner, ["--workspace", str(fresh)], str(imp))
    assert list(found) == [mxf.name] and "ElevenLabs" in found[mxf.name][0]
    approve = [*ws, "approve", str(mxf), "--ref", "LEGAL-9", "--by", "Dana"]
    assert runner.invoke(cli, approve).exit_code == 0
    result = check(runner, ws, str(imp))
    assert result.exit_code == 0, result.output
