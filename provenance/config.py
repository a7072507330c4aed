"""Workspace configuration: loaded once from provgate.toml into a frozen object and passed down."""

from __future__ import annotations

import copy
import functools
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from provenance.errors import ConfigError
from provenance.globs import glob_problem
from provenance.model import USE_CATEGORIES, Origin, Signal, tool_matches

TAG_MODES = ("embed", "sidecar", "off")
# What embed mode does with a file it must not replace (read-only, or several hard links):
# give it a sidecar, or refuse to tag it (the scan lists it and exits 2).
PROTECTED_MODES = ("sidecar", "refuse")


def default_config_text() -> str:
    """The commented default provgate.toml that `init` writes."""
    return resources.files("provenance").joinpath("default_config.toml").read_text("utf-8")


@lru_cache(maxsize=1)
def _packaged_defaults() -> dict[str, Any]:
    return tomllib.loads(default_config_text())


def default_markers() -> dict[str, Signal]:
    """The packaged policy table: what each generator family declares its markers mean, then
    the packaged provgate.toml's table (IPTC digital source types and marker families)."""
    from provenance.markers.families import default_markers as family_markers

    table = {k: Signal(v) for k, v in family_markers().items()}
    table.update({k: Signal(v) for k, v in _packaged_defaults()["policy"]["markers"].items()})
    return table


@dataclass(frozen=True)
class Policy:
    """Which markers count as AI, and which uses need consent. `Policy()` is the default."""

    markers: dict[str, Signal] = field(default_factory=default_markers)
    consent_required: frozenset[str] = frozenset(
        {"talent-likeness", "voice", "performance-alteration"}
    )
    store_prompts: bool = False
    default_use: str = "temp"
    # Declared uses in these categories are `noted` (notice is enough) unless they involve
    # talent, personal data, third-party material or a tool the production has not cleared.
    notice_only: frozenset[str] = frozenset({"ideation", "previs", "temp"})
    # The generative tools the production has cleared; None: no list is kept (nothing is
    # flagged), an empty list: no tool is cleared.
    cleared_tools: tuple[str, ...] | None = None

    def signal_for(self, marker: str) -> Signal:
        """Look a marker up exactly, then by its family (the part before the colon)."""
        if marker in self.markers:
            return self.markers[marker]
        family = marker.split(":", 1)[0]
        return self.markers.get(family, Signal.NONE)

    def needs_consent(self, *uses: str | None) -> bool:
        return any(u in self.consent_required for u in uses if u)

    def tool_problem(self, tool: str | None) -> str | None:
        """Why this AI tool is not one the production has cleared (None when it is, or
        when the policy keeps no list). A tool nobody named cannot be shown to be cleared."""
        if self.cleared_tools is None:
            return None
        if tool and any(tool_matches(c, tool) for c in self.cleared_tools):
            return None
        cleared = ", ".join(self.cleared_tools) or "none"
        if not tool:
            return f"tool not cleared: the AI tool is not named (cleared: {cleared})"
        return f"tool not cleared: {tool} (cleared: {cleared})"


@dataclass(frozen=True)
class DigestConfig:
    """`provgate digest` delivery: a sendmail-compatible command (argv, reads the message on
    stdin) and the clearance contact's addresses. No command: nothing is ever sent."""

    command: tuple[str, ...] = ()
    to: tuple[str, ...] = ()
    sender: str = "provgate@localhost"
    subject: str = "provgate: declarations and AI finds"


@dataclass(frozen=True)
class SignerConfig:
    cert_chain: Path | None = None
    key: Path | None = None
    algorithm: str = "es256"
    command: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    root: Path | None = None
    tag_mode: str = "embed"
    tag_protected: str = "sidecar"  # one of PROTECTED_MODES
    tag_origins: frozenset[str] = frozenset({"ai-generated", "ai-modified"})
    signer: SignerConfig = SignerConfig()
    # The clearance side's identity: signs approved tags (a key here, or an external command
    # so that the key never sits on the farm). Unset: approvals are recorded, tags not rewritten.
    approval_signer: SignerConfig = SignerConfig()
    # Certificates (PEM, leaf first) of the identities whose manifests may carry an approval.
    approval_signers: tuple[Path, ...] = ()
    trust_anchors: tuple[Path, ...] = ()
    policy: Policy = Policy()
    settle_seconds: float = 2.0
    ignore_globs: tuple[str, ...] = ()
    store: str | None = None  # a postgresql:// URL; None: provgate.db in the workspace
    facility: str | None = None  # this site's name in a shared store; None: the host name
    # Other facilities' log public keys whose checkpoints anchor the shared chain here.
    log_trusted_keys: tuple[Path, ...] = ()
    digest: DigestConfig = DigestConfig()
    # Extension generator families enabled by name (`[extensions] enable`): installed
    # packages alone never change what provgate recognises.
    extensions: tuple[str, ...] = ()

    # The anchors' PEM text, read once when the configuration is loaded (every file with a
    # manifest needs it); None for a Config built by hand, which reads the files on demand.
    trust_bundle: str | None = field(default=None, repr=False, compare=False)

    def trust_pem(self) -> str:
        """All trust anchors as one PEM bundle ('' when none is configured)."""
        if self.trust_bundle is not None:
            return self.trust_bundle
        return read_bundle(self.trust_anchors)


def read_bundle(anchors: tuple[Path, ...]) -> str:
    parts = []
    for path in anchors:
        try:
            parts.append(path.read_text("ascii"))
        except OSError as exc:
            raise ConfigError(f"trust anchor unreadable: {exc.strerror}", path) from exc
    return "\n".join(parts)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_config(path: Path | None) -> Config:
    """Read provgate.toml over the packaged defaults; `None` gives the defaults alone."""
    data = copy.deepcopy(_packaged_defaults())
    root, text = None, ""
    if path is not None:
        root = path.parent
        try:
            text = path.read_text("utf-8")
            user = tomllib.loads(text)
        except OSError as exc:
            raise ConfigError(f"cannot read configuration: {exc.strerror}", path) from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"invalid TOML: {exc}", path) from exc
        _check_known(user, text, path)
        _check_kinds(user, text, path)
        data = _merge(data, user)
    return _build(data, root, path, text)


# Settings provgate reads that the packaged defaults do not spell out (the defaults name the
# rest). Tables whose keys are the user's own (marker names) are not checked inside.
_OPTIONAL_KEYS: dict[str, frozenset[str]] = {
    "": frozenset({"store", "facility"}),
    "policy": frozenset({"cleared_tools"}),
    "digest": frozenset({"from", "subject"}),
    "log": frozenset({"trusted_keys"}),
    "review": frozenset(
        {"trusted_header", "trusted_proxies", "secure_cookie", "session_hours", "page_size"}
    ),
}
_FREE_TABLES = frozenset({"policy.markers"})


@functools.cache
def _known_keys() -> dict[str, frozenset[str]]:
    """For each table ("" for the top level, "policy" ...), the keys it may hold."""
    known: dict[str, set[str]] = {k: set(v) for k, v in _OPTIONAL_KEYS.items()}
    for table in _OPTIONAL_KEYS:  # an optional table may appear where its parent is
        if table:
            parent, _, name = table.rpartition(".")
            known.setdefault(parent, set()).add(name)

    def walk(table: dict[str, Any], prefix: str) -> None:
        for key, value in table.items():
            known.setdefault(prefix, set()).add(key)
            name = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict) and name not in _FREE_TABLES:
                known.setdefault(name, set())
                walk(value, name)

    walk(_packaged_defaults(), "")
    return {k: frozenset(v) for k, v in known.items()}


def _check_known(user: dict[str, Any], text: str, source: Path) -> None:
    """A misspelt section or key (`[polcy]`) is an error naming its line, never ignored."""
    known = _known_keys()

    def walk(table: dict[str, Any], prefix: str) -> None:
        for key, value in table.items():
            name = f"{prefix}.{key}" if prefix else key
            if key not in known.get(prefix, frozenset()):
                what = f"section [{name}]" if isinstance(value, dict) else f"key {key!r}"
                where = f" in [{prefix}]" if prefix and not isinstance(value, dict) else ""
                hint = _close_to(key, known.get(prefix, frozenset()))
                raise ConfigError(
                    f"line {_line_of(text, prefix, key)}: unknown {what}{where}{hint}", source
                )
            if isinstance(value, dict) and name not in _FREE_TABLES:
                walk(value, name)

    walk(user, "")


def _check_kinds(user: dict[str, Any], text: str, source: Path) -> None:
    """A value of the wrong kind (`store_prompts = "no"`, which Python would read as true;
    `settle = "fast"`; `anchors = "ca.pem"`, which would be read letter by letter) is an
    error naming its line: each setting takes the kind of value its packaged default has."""

    def walk(table: dict[str, Any], defaults: dict[str, Any], prefix: str) -> None:
        for key, value in table.items():
            name = f"{prefix}.{key}" if prefix else key
            if key not in defaults or name in _FREE_TABLES:
                continue  # an optional setting: checked where it is read
            problem = _kind_problem(value, defaults[key])
            if problem:
                line = _line_of(text, prefix, key)
                where = f"line {line}: " if line != "?" else ""
                raise ConfigError(f"{where}{name} {problem}", source)
            if isinstance(value, dict):
                walk(value, defaults[key], name)

    walk(user, _packaged_defaults(), "")


def _kind_problem(value: Any, default: Any) -> str | None:
    """Why `value` is not the kind of value `default` is (None when it is)."""
    if isinstance(default, dict):
        return None if isinstance(value, dict) else f"must be a table, not {value!r}"
    if isinstance(default, bool):
        return None if isinstance(value, bool) else f"must be true or false, not {value!r}"
    if isinstance(default, int | float):
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return None if number else f"must be a number, not {value!r}"
    if isinstance(default, str):
        return None if isinstance(value, str) else f"must be a text value, not {value!r}"
    if isinstance(default, list):
        if not isinstance(value, list):
            return f"must be a list, not {value!r}"
        if all(isinstance(v, str) for v in default) and not all(isinstance(v, str) for v in value):
            return f"must be a list of text values, not {value!r}"
    return None


def _close_to(key: str, known: frozenset[str]) -> str:
    import difflib

    match = difflib.get_close_matches(key, sorted(known), n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _line_of(text: str, prefix: str, key: str) -> int | str:
    """The line that sets `key` of table `prefix` (a header `[prefix.key]`, a `key =`
    line, or a dotted `prefix.key =`); '?' when it cannot be told."""
    header = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+")
    assignment = re.compile(r"^\s*(\"[^\"]*\"|'[^']*'|[A-Za-z0-9_.\- ]+?)\s*=")
    table = ""
    full = f"{prefix}.{key}" if prefix else key
    for number, line in enumerate(text.splitlines(), 1):
        found = header.match(line)
        if found:
            table = _dotted(found[1])
            if table == full or table.startswith(full + "."):
                return number
            continue
        found = assignment.match(line)
        if found:
            name = _dotted(found[1])
            where = f"{table}.{name}" if table else name
            if where == full or where.startswith(full + "."):
                return number
    return "?"


def _dotted(name: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in name.split("."))


def _build(data: dict[str, Any], root: Path | None, source: Path | None, text: str = "") -> Config:
    def rel(value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() or root is None else root / p

    def bad(table: str, key: str, problem: str) -> ConfigError:
        """An error naming the line of the user's file that set `table.key`."""
        line = _line_of(text, table, key) if text else "?"
        where = f"line {line}: " if line != "?" else ""
        return ConfigError(f"{where}{table}.{key} {problem}", source)

    try:
        tagging = data["tagging"]
        mode = tagging["mode"]
        if mode not in TAG_MODES:
            raise bad("tagging", "mode", f"must be one of {', '.join(TAG_MODES)}, not {mode!r}")
        protected = tagging.get("protected", "sidecar")
        if protected not in PROTECTED_MODES:
            raise bad(
                "tagging",
                "protected",
                f"must be one of {', '.join(PROTECTED_MODES)}, not {protected!r}",
            )
        ignore = data["watch"].get("ignore", [])
        if not isinstance(ignore, list):
            raise bad("watch", "ignore", f"must be a list of glob patterns, not {ignore!r}")
        for pattern in ignore:
            problem = glob_problem(pattern, names_only=True)
            if problem:
                raise bad("watch", "ignore", problem)
        pol = data["policy"]
        extensions = _extensions(data, source)
        markers: dict[str, Signal] = {k: Signal(v) for k, v in families_markers(extensions).items()}
        for key, value in pol.get("markers", {}).items():
            try:
                markers[str(key)] = Signal(value)
            except ValueError:
                known = ", ".join(s.value for s in Signal)
                raise bad(
                    "policy.markers", str(key), f"is {value!r}; it must be one of {known}"
                ) from None
        consent = frozenset(pol.get("consent_required", []))
        notice_only = frozenset(pol.get("notice_only", []))
        for key, given in (
            ("consent_required", consent),
            ("notice_only", notice_only),
            ("default_use", {pol.get("default_use", "temp")}),
        ):
            unknown = set(given) - set(USE_CATEGORIES)
            if unknown:
                raise bad("policy", key, f"names an unknown use category {sorted(unknown)[0]!r}")
        origins = frozenset(tagging.get("origins", []))
        if origins - {o.value for o in Origin}:
            wrong = sorted(origins - {o.value for o in Origin})[0]
            raise bad("tagging", "origins", f"names an unknown origin {wrong!r}")
        store, facility = _store_settings(data, source)
        sig = data["signer"]
        asig = data.get("approval_signer") or {}
        anchors = tuple(rel(a) for a in data["trust"].get("anchors", []))
        if root is None:
            anchors = ()
        return Config(
            root=root,
            tag_mode=str(mode),
            tag_protected=str(protected),
            tag_origins=origins,
            signer=SignerConfig(
                cert_chain=rel(sig["cert_chain"]) if sig.get("cert_chain") and root else None,
                key=rel(sig["key"]) if sig.get("key") and root else None,
                algorithm=str(sig.get("algorithm", "es256")).lower(),
                command=tuple(sig.get("command") or ()),
            ),
            approval_signer=SignerConfig(
                cert_chain=rel(asig["cert_chain"]) if asig.get("cert_chain") and root else None,
                key=rel(asig["key"]) if asig.get("key") and root else None,
                algorithm=str(asig.get("algorithm", "es256")).lower(),
                command=tuple(asig.get("command") or ()),
            ),
            approval_signers=tuple(rel(a) for a in data["trust"].get("approval_signers", []))
            if root
            else (),
            trust_anchors=anchors,
            trust_bundle=read_bundle(anchors),
            policy=Policy(
                markers=markers,
                consent_required=consent,
                store_prompts=bool(pol.get("store_prompts", False)),
                default_use=str(pol.get("default_use", "temp")),
                notice_only=notice_only,
                cleared_tools=_cleared_tools(pol, source),
            ),
            settle_seconds=float(data["watch"].get("settle", 2.0)),
            ignore_globs=tuple(ignore),
            store=store,
            facility=facility,
            log_trusted_keys=tuple(rel(k) for k in (data.get("log") or {}).get("trusted_keys", []))
            if root
            else (),
            digest=_digest_settings(data.get("digest", {}), source),
            extensions=extensions,
        )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"invalid configuration: {exc}", source) from exc


def _extensions(data: dict[str, Any], source: Path | None) -> tuple[str, ...]:
    """`[extensions] enable`: the installed extension families this workspace reads with."""
    names = (data.get("extensions") or {}).get("enable", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ConfigError("extensions.enable must be a list of names", source)
    if not names:  # nothing enabled: the installed packages are not even listed (~20 ms)
        return ()
    from importlib.metadata import entry_points

    from provenance.markers.families import active, available_extensions

    formats = {ep.name: ep for ep in entry_points(group="provgate.formats")}
    known = {**available_extensions(), **{n: ep.value for n, ep in formats.items()}}
    missing = [n for n in names if n not in known]
    if missing:
        installed = ", ".join(sorted(known)) or "none"
        raise ConfigError(
            f"extensions.enable: {missing[0]!r} is not installed (installed: {installed})",
            source,
        )
    try:
        for name in names:
            if name in formats:
                formats[name].load()  # a format module registers its walkers as it loads
        active(tuple(n for n in names if n not in formats))
    except (ImportError, TypeError, ValueError) as exc:
        raise ConfigError(f"extensions.enable: cannot load: {exc}", source) from exc
    return tuple(names)


def families_markers(extensions: tuple[str, ...]) -> dict[str, str]:
    """What the markers of the families a workspace reads with mean by default."""
    from provenance.markers.families import active

    return dict(active(extensions).markers)


def _store_settings(data: dict[str, Any], source: Path | None) -> tuple[str | None, str | None]:
    """`store` (a PostgreSQL URL without a password) and `facility` (a non-empty name)."""
    store = data.get("store")
    if store is not None:
        if not isinstance(store, str):
            raise ConfigError("store must be a postgresql:// URL", source)
        from provenance.stores.url import postgres_url_problem  # only when a store is named

        problem = postgres_url_problem(store)
        if problem:
            raise ConfigError(f"store: {problem}", source)
    facility = data.get("facility")
    if facility is not None and (not isinstance(facility, str) or not facility.strip()):
        raise ConfigError("facility must be a non-empty name", source)
    return store, facility.strip() if facility else None


def _cleared_tools(pol: dict[str, Any], source: Path | None) -> tuple[str, ...] | None:
    """`policy.cleared_tools`: a list of tool names (absent: no list is kept)."""
    if "cleared_tools" not in pol:
        return None
    tools = pol["cleared_tools"]
    if not isinstance(tools, list) or not all(isinstance(t, str) and t.strip() for t in tools):
        raise ConfigError("policy.cleared_tools must be a list of tool names", source)
    return tuple(t.strip() for t in tools)


def _digest_settings(digest: dict[str, Any], source: Path | None) -> DigestConfig:
    """`[digest]`: the mail command as an argv list (never a shell line) and addresses."""
    command = digest.get("command", [])
    to = digest.get("to", [])
    for key, value in (("command", command), ("to", to)):
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ConfigError(f"digest.{key} must be a list of strings", source)
    if command and not to:
        raise ConfigError("digest.command is set but digest.to names nobody", source)
    return DigestConfig(
        command=tuple(command),
        to=tuple(to),
        sender=str(digest.get("from", DigestConfig.sender)),
        subject=str(digest.get("subject", DigestConfig.subject)),
    )
