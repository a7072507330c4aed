"""Reading C2PA manifest stores: every manifest, ingredients included, validated offline.

c2pa is opened only when the cheap metadata pass saw a manifest store in the container, or a
`<file>.c2pa` sidecar sits beside the file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provenance.c2pa.context import PROVGATE_ASSERTION, c2pa_context
from provenance.config import Config
from provenance.errors import ManifestError, UnreadableAsset
from provenance.markers.families import Families, families_of
from provenance.markers.generators import c2pa_generator_marks
from provenance.model import Evidence, Validation
from provenance.pipeline.walk import SIDECAR_SUFFIX

_ACTION_LABELS = ("c2pa.actions", "c2pa.actions.v2")
MANIFEST_STORE_TYPE = "application/c2pa"
# Media types c2pa knows under another name.
_C2PA_NAMES = {"application/zip": "application/x-zip"}
# Sidecar manifests are small; anything larger than this is not one we will parse.
_MAX_SIDECAR = 64 << 20


@dataclass(frozen=True)
class C2paSummary:
    """What the manifest store said, for `inspect` and reports."""

    source: str  # "c2pa" (embedded) or "c2pa-sidecar"
    validation: Validation
    active_manifest: str | None
    manifests: tuple[str, ...]
    failures: tuple[str, ...]  # validation failure codes, excluding mere untrusted signer
    claim_generator: str | None
    signer: str | None
    provgate_tag: dict[str, Any] | None = field(default=None, compare=False)
    # The signing certificate's serial number (decimal, as c2pa gives it) and common name.
    signer_id: tuple[str, str] | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "validation": self.validation.value,
            "active_manifest": self.active_manifest,
            "manifests": list(self.manifests),
            "failures": list(self.failures),
            "claim_generator": self.claim_generator,
            "signer": self.signer,
            "provgate_tag": self.provgate_tag,
        }


@dataclass(frozen=True)
class C2paReading:
    summary: C2paSummary
    evidence: tuple[Evidence, ...]
    sidecar: C2paSummary | None = None  # the sidecar's store, when there is an embedded one too


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def read_c2pa(path: Path, media_type: str, config: Config, *, embedded: bool) -> C2paReading | None:
    """Read and validate the file's manifest stores, embedded and sidecar; None if neither.

    Both are read when both exist: a sidecar adds evidence, it never hides the embedded store.
    The reading's `summary` is the embedded store's (else the sidecar's), `sidecar` the
    sidecar's when there are both. Raises ManifestError when a manifest is present but cannot
    be parsed, so callers fail closed.
    """
    manifest_data: bytes | None = None
    if os.path.isfile(os.fspath(path) + SIDECAR_SUFFIX):  # cheap: most files have none
        sidecar = sidecar_path(path)
        try:
            if sidecar.stat().st_size > _MAX_SIDECAR:
                raise ManifestError("sidecar manifest larger than 64 MiB", sidecar)
            manifest_data = sidecar.read_bytes()
        except OSError as exc:
            raise UnreadableAsset(f"sidecar unreadable: {exc.strerror}", sidecar) from exc
    if not embedded and manifest_data is None:
        return None
    inside = _read_store(path, media_type, None, config) if embedded else None
    beside = (
        _read_store(path, media_type, manifest_data, config) if manifest_data is not None else None
    )
    if inside is None or beside is None:
        return inside or beside
    return C2paReading(
        summary=inside.summary, evidence=inside.evidence + beside.evidence, sidecar=beside.summary
    )


def _read_store(
    path: Path, media_type: str, manifest_data: bytes | None, config: Config
) -> C2paReading | None:
    """One manifest store: the embedded one (`manifest_data` None) or a sidecar's bytes."""
    import c2pa  # imported on use (~20 ms of start-up): most files carry no manifest

    ctx = c2pa_context(config)
    media_type = _C2PA_NAMES.get(media_type, media_type)
    try:
        with open(path, "rb") as fh:
            if manifest_data is not None:  # validated against these bytes
                reader = c2pa.Reader(media_type, fh, manifest_data, ctx)
            else:
                reader = c2pa.Reader.try_create(media_type, fh, None, ctx)
            if reader is None:
                return None
            with reader:
                store = json.loads(reader.json())
                state = reader.get_validation_state()
    except OSError as exc:
        raise UnreadableAsset(exc.strerror or str(exc), path) from exc
    except c2pa.C2paError as exc:
        where = "sidecar C2PA manifest" if manifest_data is not None else "C2PA manifest"
        raise ManifestError(f"{where} cannot be read: {_one_line(exc)}", path) from exc
    except (ValueError, TypeError) as exc:
        raise ManifestError(f"C2PA manifest is not valid JSON: {exc}", path) from exc
    source = "c2pa-sidecar" if manifest_data is not None else "c2pa"
    return _interpret(store, state, source, families_of(config))


def read_manifest_store(path: Path, config: Config) -> C2paReading:
    """A `.c2pa` file judged as itself: it must be a readable manifest store.

    Its declarations are evidence about its neighbour (read with it), not about itself.
    Raises ManifestError when it is not a manifest store c2pa can parse."""
    import c2pa

    try:
        with open(path, "rb") as fh:
            reader = c2pa.Reader(MANIFEST_STORE_TYPE, fh, None, c2pa_context(config))
            with reader:
                store = json.loads(reader.json())
                state = reader.get_validation_state()
    except OSError as exc:
        raise UnreadableAsset(exc.strerror or str(exc), path) from exc
    except (c2pa.C2paError, ValueError, TypeError) as exc:
        raise ManifestError(f"not a readable C2PA manifest store: {_one_line(exc)}", path) from exc
    return _interpret(store, state, "c2pa-sidecar", families_of(config))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _validation(state: str | None, codes: list[str]) -> Validation:
    if state == "Trusted":
        return Validation.TRUSTED
    if state == "Valid":
        return Validation.VALID
    return Validation.INVALID


def _interpret(
    store: dict[str, Any], state: str | None, source: str, families: Families
) -> C2paReading:
    manifests: dict[str, Any] = store.get("manifests") or {}
    active = store.get("active_manifest")
    statuses = store.get("validation_status") or []
    codes = [str(s.get("code", "")) for s in statuses if isinstance(s, dict)]
    failures = tuple(c for c in codes if c and c != "signingCredential.untrusted")
    validation = _validation(state, codes)
    relationship = _relationships(manifests, active)
    evidence: list[Evidence] = []
    for label, manifest in manifests.items():
        if not isinstance(manifest, dict):
            continue
        role = (
            "active manifest"
            if label == active
            else f"ingredient manifest ({relationship.get(label, 'ingredient')})"
        )
        evidence.extend(
            _manifest_evidence(
                label, manifest, role, relationship.get(label), validation, source, families
            )
        )
    active_m = manifests.get(active) if isinstance(active, str) else None
    active_m = active_m if isinstance(active_m, dict) else {}
    signer = (active_m.get("signature_info") or {}).get("common_name") or (
        active_m.get("signature_info") or {}
    ).get("issuer")
    summary = C2paSummary(
        source=source,
        validation=validation,
        active_manifest=active if isinstance(active, str) else None,
        manifests=tuple(manifests),
        failures=failures,
        claim_generator=_generator_name(active_m),
        signer=signer,
        provgate_tag=provgate_assertion(active_m),
        signer_id=_signer_id(active_m.get("signature_info") or {}),
    )
    detail = (
        f"{len(manifests)} manifest(s), signed by {signer or 'unknown signer'}, {validation.value}"
    )
    if failures:
        detail += ": " + ", ".join(failures)
    evidence.insert(
        0,
        Evidence(
            source=source,
            detail=detail,
            marker="c2pa:store",
            validation=validation,
            # No tool: the claim generator signed the manifest; the tool that made the
            # content is named by its actions (softwareAgent) or an AI claim generator.
        ),
    )
    return C2paReading(summary=summary, evidence=tuple(evidence))


def _signer_id(info: dict[str, Any]) -> tuple[str, str] | None:
    serial, name = info.get("cert_serial_number"), info.get("common_name")
    return (str(serial), str(name)) if serial and name else None


def _relationships(manifests: dict[str, Any], active: Any) -> dict[str, str]:
    """Map each ingredient manifest label to how it was used (parentOf, componentOf, ...)."""
    out: dict[str, str] = {}
    for manifest in manifests.values():
        if not isinstance(manifest, dict):
            continue
        for ing in manifest.get("ingredients") or []:
            if isinstance(ing, dict) and isinstance(ing.get("active_manifest"), str):
                out.setdefault(ing["active_manifest"], str(ing.get("relationship", "componentOf")))
    return out


def _generator_name(manifest: dict[str, Any]) -> str | None:
    info = manifest.get("claim_generator_info")
    if isinstance(info, list) and info and isinstance(info[0], dict) and info[0].get("name"):
        return str(info[0]["name"])
    gen = manifest.get("claim_generator")
    return str(gen) if gen else None


def _agent_name(agent: Any) -> str | None:
    if isinstance(agent, dict):
        agent = agent.get("name")
    return str(agent) if agent else None


def provgate_assertion(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """Our `org.provgate.tag` data in one manifest of a c2pa Reader's JSON, or None."""
    for assertion in manifest.get("assertions") or []:
        if not isinstance(assertion, dict):
            continue
        label = str(assertion.get("label", ""))
        # c2pa suffixes repeated labels with "__<n>"; provgate writes one, others may copy it.
        if label == PROVGATE_ASSERTION or label.startswith(PROVGATE_ASSERTION + "__"):
            data = assertion.get("data")
            return data if isinstance(data, dict) else None
    return None


def _manifest_evidence(
    label: str,
    manifest: dict[str, Any],
    role: str,
    relationship: str | None,
    validation: Validation,
    source: str,
    families: Families,
) -> list[Evidence]:
    found: list[Evidence] = []
    generator = _generator_name(manifest)
    extra = {"manifest": label, "relationship": relationship}
    named_actions: list[tuple[str, str, list[str]]] = []
    labels: list[str] = []
    for assertion in manifest.get("assertions") or []:
        if isinstance(assertion, dict):
            labels.append(str(assertion.get("label", "")))
        if not isinstance(assertion, dict) or assertion.get("label") not in _ACTION_LABELS:
            continue
        data = assertion.get("data") or {}
        for action in data.get("actions") or [] if isinstance(data, dict) else []:
            if not isinstance(action, dict):
                continue
            params = action.get("parameters")
            named_actions.append(
                (
                    str(action.get("action", "action")),
                    _agent_name(action.get("softwareAgent")) or "",
                    [str(k) for k in params] if isinstance(params, dict) else [],
                )
            )
            dst = action.get("digitalSourceType")
            if not isinstance(dst, str) or not dst:
                continue
            kind = dst.rstrip("/").rsplit("/", 1)[-1]
            # A claim generator is the tool that signed the manifest; provgate signs what it
            # records and generates nothing, so it never stands in for an unnamed AI tool.
            agent = _agent_name(action.get("softwareAgent")) or (
                None if generator and generator.lower().startswith("provgate") else generator
            )
            found.append(
                Evidence(
                    source=source,
                    detail=f"{action.get('action', 'action')} {kind}"
                    + (f" by {agent}" if agent else "")
                    + f" ({role})",
                    marker=f"dst:{kind}",
                    validation=validation,
                    tool=agent,
                    extra=extra,
                )
            )
    if not found:  # no digital source type anywhere: the generator may still name itself
        claims = [str(manifest.get("claim_generator") or ""), generator or ""]
        for marker, tool, why in c2pa_generator_marks(claims, named_actions, labels, families):
            found.append(
                Evidence(
                    source=source,
                    detail=f"{why} names {tool}, without a digital source type ({role})",
                    marker=marker,
                    validation=validation,
                    tool=tool,
                    extra=extra,
                )
            )
    strong = any(e.marker.startswith(("c2pa-generator:", "c2pa-generative-edit:")) for e in found)
    # Claim generators of known AI services: a weak signal on their own (the actions decide).
    if generator and not strong and any(k in generator.lower() for k in families.claim_words):
        found.append(
            Evidence(
                source=source,
                detail=f"claim generator {generator} ({role})",
                marker=f"keyword:{generator}",
                validation=validation,
                tool=generator,
                extra=extra,
            )
        )
    tag = provgate_assertion(manifest)
    if tag is not None and relationship is None:
        found.append(
            Evidence(
                source=source,
                detail=f"provgate tag: {tag.get('status', '?')}, use {tag.get('use') or '-'}"
                + (f", approval {tag['approval_ref']}" if tag.get("approval_ref") else ""),
                marker="provgate:tag",
                validation=validation,
                tool=tag.get("tool"),
                extra=extra,
            )
        )
    return found
