"""Approval and revocation events signed by the approval identity.

The log key anchors the chain, but it sits on every host that writes the store (watchers
checkpoint what they write): whoever reads it and can write the database can append a
well-hashed `approved` event under a checkpoint it signs. So an `approved` event counts only
when it also carries a signature by the APPROVAL identity — the clearance side's key file or
external signer command, `[approval_signer]` — over what it grants: the content id, the
reference, approver, use, consent, expiry, approval time, note, declaration and the content
it was carried from. The signature is checked against the certificates pinned in `[trust]
approval_signers`.

A `revoked` event is signed the same way when the revoker has the approval signer, but it
counts whether or not its signature verifies: a forged revocation can only block (the gate
fails closed); `log verify` names the ones that are not signed.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from provenance.config import Config

SIGNATURE = "signature"
_BODY = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)
# Verified signatures, by the event's fields and the pinned set: each is checked once a process.
_verified: dict[tuple[Any, ...], str | None] = {}


def event_body(kind: str, content_id: str, detail: dict[str, Any]) -> bytes:
    """The bytes an event signature covers: its kind, content id and detail (minus the
    signature itself)."""
    fields = {k: v for k, v in detail.items() if k != SIGNATURE}
    return _BODY.encode(["provgate-approval-event/1", kind, content_id, fields]).encode()


@dataclass(frozen=True)
class EventSigner:
    """The approval identity, signing events (built from `[approval_signer]`)."""

    signer: Any  # a c2pa.signing.TagSigner

    @property
    def name(self) -> str:
        from provenance.c2pa.detached import common_name

        return common_name(self.signer.certificate)

    def signature(self, kind: str, content_id: str, detail: dict[str, Any]) -> dict[str, str]:
        """This identity's signature over the event, as its detail keeps it (`SIGNATURE`)."""
        from provenance.c2pa.detached import certificate_id

        value = self.signer.sign_bytes(event_body(kind, content_id, detail))
        return {
            "alg": self.signer.alg,
            "cert": certificate_id(self.signer.certificate),
            "value": base64.b64encode(value).decode("ascii"),
        }


def with_signature(detail: dict[str, Any], signature: dict[str, str] | None) -> dict[str, Any]:
    """An event's detail as recorded: with its signature when it has one."""
    return {**detail, SIGNATURE: signature} if signature else dict(detail)


def event_signer(config: Config) -> EventSigner:
    """The workspace's approval identity as an event signer; SigningError when it has none
    (a farm host without `[approval_signer]` cannot approve)."""
    from provenance.c2pa.signing import signer_from_config

    return EventSigner(signer_from_config(config, approval=True))


def signed_by(config: Config, event: dict[str, Any]) -> str | None:
    """The name of the identity trusted for approvals that signed this event, or None (not
    signed, a bad signature, or an identity not pinned in `[trust] approval_signers`)."""
    from provenance.c2pa.detached import pinned_identities

    pinned = pinned_identities(config.approval_signers)
    key = (event["kind"], event["content_id"], event["detail"], pinned.key)
    if key in _verified:
        return _verified[key]
    found = _check(pinned, event)
    if len(_verified) > 100_000:
        _verified.clear()
    _verified[key] = found
    return found


def _check(pinned: Any, event: dict[str, Any]) -> str | None:
    try:
        detail = json.loads(event["detail"])
        block = detail[SIGNATURE]
        value = base64.b64decode(block["value"], validate=True)
        alg, cert = str(block["alg"]), str(block["cert"])
    except (TypeError, ValueError, KeyError, binascii.Error):
        return None
    if not isinstance(detail, dict):
        return None
    body = event_body(str(event["kind"]), str(event["content_id"]), detail)
    name: str | None = pinned.check(alg, cert, body, value)
    return name
