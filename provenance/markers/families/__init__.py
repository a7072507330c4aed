"""Generator families: everything provgate knows about one generator, declared once.

A family module (one per generator or vendor, in this package) calls `register(Family(...))`
with the family's markers and their default policy meaning, its recogniser of the generator's
own metadata, the names by which free text and software fields mention it (weak keywords),
its output file-name patterns, how it names itself in C2PA manifests, and the files or
examples that show each of them. The metadata pass (`provenance.markers.generators`,
`provenance.markers.weak`), the C2PA reader and the packaged policy all read these tables; a
new generator is one new module here plus its test (see docs/architecture.md).

Families from installed packages (entry point group `provgate.families`) join only when the
workspace names them in `provgate.toml` (`[extensions] enable = [...]`): installing a package
never changes a verdict by itself.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from provenance.markers.fields import FieldScan

if TYPE_CHECKING:
    from provenance.config import Config

Recogniser = Callable[[FieldScan], None]
ENTRY_POINT_GROUP = "provgate.families"


@dataclass(frozen=True)
class Keyword:
    """A tool's name as weak evidence: looked for loosely in fields that name software
    (Software, CreatorTool, encoder...) and strictly in free text, where a bare "runway" or
    "flux" is more likely an ordinary word. `stems`: plain lower-case substrings, one of which
    every match contains (a field with none of them skips the slower patterns)."""

    slug: str
    display: str
    in_software: str
    in_text: str | None
    stems: tuple[str, ...]
    example: str  # a software field value the pattern must match


@dataclass(frozen=True)
class FileName:
    """A generator's default output naming (weak evidence; the name itself is never quoted:
    some generators put the prompt in it)."""

    slug: str
    tool: str
    pattern: str  # matched against the whole file name
    shown: str  # what the pattern looks like, for the evidence's detail
    example: str  # a file name the pattern must match


@dataclass(frozen=True)
class C2paNames:
    """How a generative service names itself in a C2PA manifest that declares no IPTC digital
    source type (lower-case prefixes): claim generator, an action's softwareAgent, vendor
    assertion labels or action parameter keys."""

    slug: str
    tool: str
    claim_generators: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    vendor_labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Family:
    """One generator family. `markers`: the markers its recogniser emits, with their default
    policy meaning; `order`: where its recogniser runs (a recogniser consumes the fields it
    explains before later ones look); `claim_words`: substrings of claim generator names that
    are a weak signal of the family; `fixtures`: for each marker, files that carry it (paths
    under `../shared/fixtures/`, or `sample_media/...`, `tests/...` in this repository);
    `text_examples`: for each marker, PNG text chunks that carry it."""

    name: str
    tool: str
    markers: Mapping[str, str] = field(default_factory=dict)
    recognise: Recogniser | None = None
    order: int = 50
    keywords: tuple[Keyword, ...] = ()
    file_names: tuple[FileName, ...] = ()
    c2pa: tuple[C2paNames, ...] = ()
    claim_words: tuple[str, ...] = ()
    fixtures: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    text_examples: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    origin: str = "built-in"  # or the distribution an extension came from


_BUILTIN: dict[str, Family] = {}


def register(family: Family) -> Family:
    """Add a built-in family (called once by each module of this package)."""
    if family.name in _BUILTIN:
        raise ValueError(f"generator family {family.name!r} is declared twice")
    _BUILTIN[family.name] = family
    return family


def builtin() -> tuple[Family, ...]:
    """Every family this package declares, imported on first use."""
    if not _BUILTIN:
        for module in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{module.name}")
    return tuple(_BUILTIN.values())


def available_extensions() -> dict[str, str]:
    """Installed extension families: entry point name → `module:attr` (nothing imported)."""
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


@lru_cache(maxsize=8)
def active(extensions: tuple[str, ...] = ()) -> Families:
    """The built-in families plus the named extensions (`[extensions] enable` in
    provgate.toml). Raises LookupError naming an extension that is not installed."""
    found = list(builtin())
    if extensions:
        from importlib.metadata import entry_points

        points = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
        for name in extensions:
            if name not in points:
                raise LookupError(name)
            loaded = points[name].load()
            more = loaded() if callable(loaded) else loaded
            dist = points[name].dist
            source = f"{dist.name} {dist.version}" if dist else name
            for family in more if isinstance(more, Iterable) else [more]:
                if not isinstance(family, Family):
                    raise TypeError(f"extension {name} gave {type(family).__name__}, not Family")
                found.append(_with_origin(family, source))
    return Families(tuple(found))


def families_of(config: Config) -> Families:
    """The families a workspace reads with: the built-in ones and those it enabled."""
    return active(config.extensions)


def _with_origin(family: Family, origin: str) -> Family:
    from dataclasses import replace

    return replace(family, origin=origin)


class Families:
    """The tables the metadata pass reads, derived from one set of families."""

    def __init__(self, families: tuple[Family, ...]) -> None:
        self.families = families
        names = [f.name for f in families]
        doubled = {n for n in names if names.count(n) > 1}
        if doubled:
            raise ValueError(f"generator family {sorted(doubled)[0]!r} is declared twice")
        ordered = sorted((f for f in families if f.recognise), key=lambda f: f.order)
        self.recognisers: tuple[Recogniser, ...] = tuple(f.recognise for f in ordered)  # type: ignore[misc]
        self.keywords = tuple(k for f in families for k in f.keywords)
        self.file_names = tuple(n for f in families for n in f.file_names)
        self.c2pa = tuple(c for f in families for c in f.c2pa)
        self.claim_words = tuple(w for f in families for w in f.claim_words)
        self.markers = {m: v for f in families for m, v in f.markers.items()}

    @property
    def names(self) -> tuple[str, ...]:
        """What a recorded check names as the recognisers it ran with."""
        return tuple(
            f.name if f.origin == "built-in" else f"{f.name} ({f.origin})" for f in self.families
        )


def default_markers() -> dict[str, str]:
    """The policy meaning of every built-in family's markers (the packaged defaults)."""
    return {m: v for f in builtin() for m, v in f.markers.items()}
