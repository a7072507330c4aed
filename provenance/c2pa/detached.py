"""Detached signatures by a signing identity over bytes that are not a C2PA claim.

The approval identity signs each approval and revocation it records in the event log (see
`history/attest.py`), with the same key file or external command that signs approved tags and
the same algorithm names. Verification is pinned: a signature counts only under the public key
of a certificate listed in `[trust] approval_signers`. This module needs `cryptography` only
(never c2pa), so the gate pays nothing for it until an approval is read.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

# The hash each algorithm name signs with (None: Ed25519 signs the message itself).
HASHES: dict[str, type[hashes.HashAlgorithm] | None] = {
    "es256": hashes.SHA256,
    "es384": hashes.SHA384,
    "es512": hashes.SHA512,
    "ps256": hashes.SHA256,
    "ps384": hashes.SHA384,
    "ps512": hashes.SHA512,
    "ed25519": None,
}


def certificate_id(cert: x509.Certificate) -> str:
    """What an event signature names its signer by: the SHA-256 of the certificate (DER)."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


def sign_with_key(key: Any, alg: str, data: bytes) -> bytes:
    """`data` signed with a private key under a configured algorithm name."""
    digest = HASHES[alg]
    if alg == "ed25519" and isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    if alg.startswith("es") and isinstance(key, ec.EllipticCurvePrivateKey) and digest:
        return key.sign(data, ec.ECDSA(digest()))
    if alg.startswith("ps") and isinstance(key, rsa.RSAPrivateKey) and digest:
        return key.sign(data, _pss(digest), digest())
    raise ValueError(f"a {type(key).__name__} cannot sign with {alg}")


def verifies(public: Any, alg: str, data: bytes, signature: bytes) -> bool:
    """Whether `signature` (DER, or raw r||s for ECDSA as external signers often give) is
    `public`'s signature of `data` under `alg`."""
    digest = HASHES.get(alg, ...)
    try:
        if alg == "ed25519" and isinstance(public, ed25519.Ed25519PublicKey):
            public.verify(signature, data)
        elif alg.startswith("es") and isinstance(public, ec.EllipticCurvePublicKey) and digest:
            size = (public.curve.key_size + 7) // 8
            if len(signature) == 2 * size:
                r, s = signature[:size], signature[size:]
                signature = encode_dss_signature(int.from_bytes(r), int.from_bytes(s))
            else:
                decode_dss_signature(signature)  # raises ValueError for junk
            public.verify(signature, data, ec.ECDSA(digest()))  # type: ignore[operator]
        elif alg.startswith("ps") and isinstance(public, rsa.RSAPublicKey) and digest:
            public.verify(signature, data, _pss(digest), digest())  # type: ignore[operator, arg-type]
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


def _pss(digest: type[hashes.HashAlgorithm]) -> padding.PSS:
    # C2PA's PS256..PS512: MGF1 with the same hash, salt as long as the hash.
    return padding.PSS(mgf=padding.MGF1(digest()), salt_length=padding.PSS.DIGEST_LENGTH)


class PinnedIdentities:
    """The certificates trusted for approvals, by `certificate_id`: (public key, name)."""

    def __init__(self, found: dict[str, tuple[Any, str]]) -> None:
        self.found = found
        self.key = tuple(sorted(found))

    def check(self, alg: str, signer: str, data: bytes, signature: bytes) -> str | None:
        """The name of the trusted identity that made this signature, or None."""
        pinned = self.found.get(signer)
        if pinned is None or not verifies(pinned[0], alg, data, signature):
            return None
        return pinned[1]


_loaded: dict[tuple[Any, ...], PinnedIdentities] = {}


def pinned_identities(paths: tuple[Path, ...]) -> PinnedIdentities:
    """The leaf certificates of `paths` (PEM, leaf first), read again when a file changes. A
    file that is missing or unreadable pins nobody (fail closed)."""
    stamp: list[Any] = []
    for path in paths:
        try:
            st = os.stat(path)
            stamp.append((str(path), st.st_mtime_ns, st.st_size))
        except OSError:
            stamp.append((str(path), None))
    key = tuple(stamp)
    if key not in _loaded:
        found: dict[str, tuple[Any, str]] = {}
        for path in paths:
            try:
                leaf = x509.load_pem_x509_certificates(path.read_bytes())[0]
            except (OSError, ValueError, IndexError):
                continue
            found[certificate_id(leaf)] = (leaf.public_key(), common_name(leaf))
        if len(_loaded) > 16:
            _loaded.clear()
        _loaded[key] = PinnedIdentities(found)
    return _loaded[key]
