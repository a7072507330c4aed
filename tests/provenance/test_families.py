"""Driven by the generator families' own declarations (`provenance.markers.families`): every
declared marker has a policy entry and a file that carries it, every keyword, file-name pattern
and C2PA name has an example it recognises. A family added without them fails here.

The extension seam: a family from an installed package joins only when the workspace names it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image, PngImagePlugin

from provenance.config import Policy, load_config
from provenance.errors import ConfigError
from provenance.formats.base import Field
from provenance.markers.families import Family, active, builtin
from provenance.markers.generators import c2pa_generator_marks
from provenance.markers.metadata import scan_metadata
from provenance.markers.weak import filename_evidence, keyword_evidence
from provenance.model import Signal
from tests.conftest import FIXTURES, ROOT

FAMILIES = builtin()
MARKERS = [(f.name, m, v) for f in FAMILIES for m, v in f.markers.items()]


def test_the_families_are_one_module_each_and_named_once() -> None:
    modules = {f.recognise.__module__ for f in FAMILIES if f.recognise}
    assert len(modules) == len([f for f in FAMILIES if f.recognise])
    assert len({f.name for f in FAMILIES}) == len(FAMILIES)


@pytest.mark.parametrize(("family", "marker", "meaning"), MARKERS, ids=[m for _, m, _ in MARKERS])
def test_every_declared_marker_has_its_policy_entry(family, marker, meaning) -> None:
    assert Policy().signal_for(marker) is Signal(meaning)
    assert load_config(None).policy.signal_for(marker) is Signal(meaning)


def _fixture(rel: str) -> Path:
    path = ROOT / rel if rel.startswith(("sample_media/", "tests/")) else FIXTURES / rel
    if not path.exists():
        pytest.skip(f"{rel} is not beside the checkout")
    return path


def _png_with_text(tmp_path: Path, chunks: tuple[tuple[str, str], ...]) -> Path:
    info = PngImagePlugin.PngInfo()
    for key, value in chunks:
        info.add_text(key, value)
    path = tmp_path / "example.png"
    Image.new("RGB", (4, 4)).save(path, pnginfo=info)
    return path


@pytest.mark.parametrize(("family", "marker", "meaning"), MARKERS, ids=[m for _, m, _ in MARKERS])
def test_every_declared_marker_has_a_file_that_carries_it(tmp_path, family, marker, meaning):
    fam = next(f for f in FAMILIES if f.name == family)
    files = [_fixture(rel) for rel in fam.fixtures.get(marker, ())]
    if marker in fam.text_examples:
        files.append(_png_with_text(tmp_path, fam.text_examples[marker]))
    assert files, f"{family} declares {marker} without a fixture or an example"
    for path in files:
        found = {e.marker for e in scan_metadata(path).evidence}
        assert marker in found, (path, found)


KEYWORDS = [(f.name, k) for f in FAMILIES for k in f.keywords]


@pytest.mark.parametrize(("family", "keyword"), KEYWORDS, ids=[k.slug for _, k in KEYWORDS])
def test_every_keyword_is_recognised_in_a_software_field(family, keyword) -> None:
    found = keyword_evidence([Field("exif", "EXIF", "Software", keyword.example)])
    assert f"keyword:{keyword.slug}" in {e.marker for e in found}
    assert any(stem in keyword.example.lower() for stem in keyword.stems)


NAMES = [(f.name, n) for f in FAMILIES for n in f.file_names]


@pytest.mark.parametrize(("family", "name"), NAMES, ids=[n.slug for _, n in NAMES])
def test_every_file_name_pattern_recognises_its_example(family, name) -> None:
    (found,) = filename_evidence(name.example)
    assert found.marker == f"filename:{name.slug}"
    assert name.example not in found.detail  # the name can carry the prompt


C2PA = [(f.name, c) for f in FAMILIES for c in f.c2pa]


@pytest.mark.parametrize(("family", "names"), C2PA, ids=[c.slug for _, c in C2PA])
def test_every_c2pa_name_is_recognised_and_has_policy_entries(family, names) -> None:
    policy = Policy()
    assert policy.signal_for(f"c2pa-generator:{names.slug}") is Signal.AI_GENERATED
    assert policy.signal_for(f"c2pa-generative-edit:{names.slug}") is Signal.AI_MODIFIED
    for agent in names.agents:
        marks = c2pa_generator_marks([], [("c2pa.created", agent + " 1.0", [])], [])
        assert (f"c2pa-generator:{names.slug}", names.tool) in {(m, t) for m, t, _ in marks}
    for claim in names.claim_generators:
        marks = c2pa_generator_marks([claim + "/1.0"], [], [])
        assert f"c2pa-generator:{names.slug}" in {m for m, _, _ in marks}


# -- the extension seam -------------------------------------------------------------------------

_EXTENSION = """
from provenance.markers.families import Family


def _acme(scan):
    for index in scan.with_keys("acme-render"):
        scan.add([index], "generator:acme", "Acme Dream", "render settings")


FAMILY = Family(
    name="acme",
    tool="Acme Dream",
    markers={"generator:acme": "ai-generated"},
    recognise=_acme,
)
"""


@pytest.fixture
def installed_extension(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A real installed distribution (dist-info on sys.path) declaring one family."""
    site = tmp_path / "site"
    (site / "acme_provgate").mkdir(parents=True)
    (site / "acme_provgate" / "__init__.py").write_text(_EXTENSION)
    info = site / "acme_provgate-1.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-provgate\nVersion: 1.2\n")
    (info / "entry_points.txt").write_text("[provgate.families]\nacme = acme_provgate:FAMILY\n")
    monkeypatch.syspath_prepend(str(site))
    yield "acme"
    sys.modules.pop("acme_provgate", None)
    active.cache_clear()


def _acme_png(tmp_path: Path) -> Path:
    return _png_with_text(tmp_path, (("acme-render", "steps 12"),))


def test_an_installed_extension_changes_nothing_until_it_is_enabled(
    tmp_path, installed_extension, runner
) -> None:
    from cli.main import cli

    still = _acme_png(tmp_path)
    ws = tmp_path / "ws"
    assert runner.invoke(cli, ["init", str(ws)]).exit_code == 0
    before = runner.invoke(cli, ["--workspace", str(ws), "check", str(still)])
    assert before.exit_code == 0, before.output

    config = ws / "provgate.toml"
    config.write_text(config.read_text().replace("enable = []", 'enable = ["acme"]'))
    after = runner.invoke(cli, ["--workspace", str(ws), "check", "--format", "json", str(still)])
    assert after.exit_code == 1, after.output
    report = json.loads(after.output)
    assert report["assets"][0]["origin"] == "ai-generated"
    assert "acme (acme-provgate 1.2)" in report["recognisers"]
    assert "comfyui" in report["recognisers"]


def test_an_enabled_extension_that_is_not_installed_is_a_configuration_error(tmp_path) -> None:
    config = tmp_path / "provgate.toml"
    config.write_text('[extensions]\nenable = ["nope"]\n')
    with pytest.raises(ConfigError, match="'nope' is not installed"):
        load_config(config)


def test_a_family_declared_twice_is_refused(installed_extension) -> None:
    import acme_provgate

    from provenance.markers.families import Families

    with pytest.raises(ValueError, match="declared twice"):
        Families((acme_provgate.FAMILY, acme_provgate.FAMILY))
    assert isinstance(acme_provgate.FAMILY, Family)


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("PROVGATE_WORKSPACE", raising=False)
    return CliRunner()
