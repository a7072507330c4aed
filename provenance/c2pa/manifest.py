"""What provgate's tag says, and the C2PA manifest built to say it.

`Tag` is the record (origin, status, use, approval, fingerprint); `manifest_definition` is the
manifest provgate signs for it (c2pa.actions with the IPTC digital source type, the CAWG
training-and-mining assertion, our own assertion, a soft binding), and `xmp_facts` the same
facts for the XMP packet written beside it. Writing it into a file is `c2pa/tagging.py`.
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from provenance.c2pa.context import PROVGATE_ASSERTION
from provenance.model import Origin, Status

IPTC_DST = "http://cv.iptc.org/newscodes/digitalsourcetype/"


DIGITAL_SOURCE_TYPES = {
    Origin.AI_GENERATED: IPTC_DST + "trainedAlgorithmicMedia",
    Origin.AI_MODIFIED: IPTC_DST + "compositeWithTrainedAlgorithmicMedia",
    Origin.NON_AI: IPTC_DST + "digitalCreation",
}


TRAINING_MINING_USES = (
    "cawg.ai_training",
    "cawg.ai_generative_training",
    "cawg.ai_inference",
    "cawg.data_mining",
)


# Ties the parent ingredient to the c2pa.opened action naming it: without the pair, signing a
# file that already has a manifest fails with assertion.action.ingredientMismatch.
_PARENT_ID = "provgate.parent"


@dataclass(frozen=True)
class Tag:
    """What provgate records about an asset in its manifest."""

    origin: Origin
    status: Status = Status.TEMPORARY
    tool: str | None = None
    use: str | None = None
    note: str | None = None
    approval_ref: str | None = None
    approved_by: str | None = None
    # When provgate rewrites an approved asset's tag, the content id the approval was given to;
    # those bytes become the new manifest's parent ingredient (SPEC §3).
    approved_content_id: str | None = None
    # The content's fingerprint (`pipeline/fingerprints.py`), carried as a c2pa.soft-binding
    # assertion so that a copy stripped of the manifest can be tied back to it.
    fingerprint: str | None = None

    def __post_init__(self) -> None:
        if self.origin not in DIGITAL_SOURCE_TYPES:
            raise ValueError(f"cannot tag origin {self.origin.value!r}")

    def assertion_data(self) -> dict[str, Any]:
        """The body of our `org.provgate.tag` assertion."""
        return {
            "status": self.status.value,
            "origin": self.origin.value,
            "use": self.use,
            "tool": self.tool,
            "note": self.note,
            "approval_ref": self.approval_ref,
            "approved_by": self.approved_by,
            "approved_content_id": self.approved_content_id,
            "tagged_by": f"provgate {provgate_version()}",
        }


def xmp_facts(tag: Tag) -> dict[str, Any]:
    return {
        "digital_source_type": DIGITAL_SOURCE_TYPES[tag.origin],
        "origin": tag.origin.value,
        "status": tag.status.value,
        "use": tag.use,
        "approval_ref": tag.approval_ref,
        "tool": tag.tool,
    }


def manifest_definition(tag: Tag, title: str, media_type: str, has_parent: bool) -> dict[str, Any]:
    """The manifest provgate signs (without ingredients), as c2pa's Builder JSON."""
    dst = DIGITAL_SOURCE_TYPES[tag.origin]
    agent = {"softwareAgent": {"name": tag.tool}} if tag.tool else {}
    if has_parent:
        # c2pa: a manifest on a file that already has one opens it as the parent ingredient
        # (first action c2pa.opened, naming it in ingredientIds); the next action declares
        # what the content is. The bytes are not altered: the description says so.
        actions: list[dict[str, Any]] = [
            {"action": "c2pa.opened", "parameters": {"ingredientIds": [_PARENT_ID]}},
            {
                "action": "c2pa.edited",
                "digitalSourceType": dst,
                "description": f"provenance recorded by provgate: {tag.origin.value}, "
                f"{tag.status.value}; content not altered",
                **agent,
            },
        ]
    else:
        actions = [{"action": "c2pa.created", "digitalSourceType": dst, **agent}]
    entries = {use: {"use": "notAllowed"} for use in TRAINING_MINING_USES}
    assertions: list[dict[str, Any]] = [
        {"label": "c2pa.actions.v2", "data": {"actions": actions}},
        {"label": "cawg.training-mining", "data": {"entries": entries}},
        {"label": PROVGATE_ASSERTION, "data": tag.assertion_data()},
    ]
    if tag.fingerprint:
        assertions.append(soft_binding_assertion(tag.fingerprint))
    return {
        "claim_generator_info": [{"name": "provgate", "version": provgate_version()}],
        "title": title,
        "format": media_type,
        "assertions": assertions,
    }


# Our fingerprints under our own algorithm names (the C2PA soft-binding list has no entry for
# them); the value is the fingerprint's bytes, base64 as the assertion wants.
SOFT_BINDING_ALGS = {
    "image": "org.provgate.phash.1",
    "video": "org.provgate.vhash.1",
    "audio": "org.provgate.chromaprint.1",
}


def soft_binding_assertion(fingerprint: str) -> dict[str, Any]:
    """A `c2pa.soft-binding` assertion carrying one of our fingerprints of the content."""
    from provenance.pipeline.fingerprints import kind_of

    kind = kind_of(fingerprint)
    if kind == "image":
        value = base64.b64encode(bytes.fromhex(fingerprint)).decode("ascii")
    else:
        value = fingerprint.split(":", 1)[1]
    return {
        "label": "c2pa.soft-binding",
        "data": {"alg": SOFT_BINDING_ALGS[kind], "blocks": [{"scope": {}, "value": value}]},
    }


def soft_binding_of(manifest: dict[str, Any]) -> str | None:
    """The fingerprint our soft-binding assertion carries in one manifest of a Reader's JSON."""
    for assertion in manifest.get("assertions") or []:
        if not isinstance(assertion, dict) or assertion.get("label") != "c2pa.soft-binding":
            continue
        data = assertion.get("data") or {}
        kinds = {alg: kind for kind, alg in SOFT_BINDING_ALGS.items()}
        kind = kinds.get(str(data.get("alg")))
        blocks = data.get("blocks") or []
        value = blocks[0].get("value") if blocks and isinstance(blocks[0], dict) else None
        if kind is None or not isinstance(value, str):
            continue
        if kind == "image":
            return base64.b64decode(value).hex()
        return ("v1:" if kind == "video" else "a1:") + value
    return None


@functools.cache
def provgate_version() -> str:
    try:
        return metadata.version("provgate")
    except metadata.PackageNotFoundError:
        return "0+unknown"
