"""Signed checkpoints of the event chain: what anchors it against truncation and re-hashing.

A hash chain alone proves only that its rows agree with each other: delete the last events, or
edit one and re-hash every row after it, and the chain still verifies. So every transaction that
appends events also stores a checkpoint — the chain head (sequence number and hash) it left,
signed with the workspace's log key (Ed25519, `keys/log-key.pem`, made by `provgate init`).
`log verify` then knows how long the log was and what its head hashed to at each commit: a
missing tail, or a rewritten event under a checkpoint, shows against the signatures.

In a shared PostgreSQL store each facility signs the heads it wrote with its own key; another
facility's checkpoints count here when its public key is listed in `[log] trusted_keys`.

The gate re-verifies incrementally: the last head it verified is kept (per facility) with a MAC
under the log key, and only the events after it are hashed again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

LOG_KEY = "log-key.pem"
LOG_PUBLIC_KEY = "log-key.pub.pem"
_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


def key_id(public: Ed25519PublicKey) -> str:
    """A short name for a log key: the first 16 hex digits of its raw bytes' SHA-256."""
    return hashlib.sha256(public.public_bytes(*_RAW)).hexdigest()[:16]


def checkpoint_body(facility: str, seq: int, head_hash: str, at: str) -> bytes:
    """The bytes a checkpoint's signature covers."""
    return json.dumps(["provgate-checkpoint/1", facility, seq, head_hash, at]).encode()


@dataclass(frozen=True)
class LogKeys:
    """The key this workspace signs checkpoints with (None: it cannot sign) and the public
    keys whose checkpoints it trusts, by key id (its own included)."""

    signing: Ed25519PrivateKey | None = None
    trusted: dict[str, Ed25519PublicKey] | None = None

    @property
    def own_id(self) -> str | None:
        return key_id(self.signing.public_key()) if self.signing else None

    def sign(self, facility: str, seq: int, head_hash: str, at: str) -> tuple[str, str]:
        """(key id, hex signature) for a checkpoint."""
        assert self.signing is not None
        body = checkpoint_body(facility, seq, head_hash, at)
        return key_id(self.signing.public_key()), self.signing.sign(body).hex()

    def verifies(self, kid: str, signature: str, body: bytes) -> bool | None:
        """True/False for a trusted key's signature; None when the key is not trusted here."""
        public = (self.trusted or {}).get(kid)
        if public is None:
            return None
        try:
            public.verify(bytes.fromhex(signature), body)
        except (InvalidSignature, ValueError):
            return False
        return True

    def mac(self, text: str) -> str | None:
        """A MAC under (a key derived from) the log key, for the verified-head cache."""
        if self.signing is None:
            return None
        raw = self.signing.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        secret = hashlib.sha256(b"provgate-verified-head\0" + raw).digest()
        return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()


def create_log_key(keys_dir: Path) -> None:
    """Make `keys/log-key.pem` (0600) and its public half, unless they exist."""
    from provenance import atomic

    path = keys_dir / LOG_KEY
    if not path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        atomic.write_bytes(path, pem, mode=0o600, replace=False)
    public = keys_dir / LOG_PUBLIC_KEY
    if not public.exists():
        key = _load_private(path)
        pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        atomic.write_bytes(public, pem, mode=0o644, replace=False)


def load_log_keys(keys_dir: Path | None, trusted_files: tuple[Path, ...] = ()) -> LogKeys:
    """The workspace's log key (when `keys_dir` holds one) and the trusted public keys."""
    signing = None
    if keys_dir is not None and (keys_dir / LOG_KEY).is_file():
        signing = _load_private(keys_dir / LOG_KEY)
    trusted: dict[str, Ed25519PublicKey] = {}
    if signing is not None:
        trusted[key_id(signing.public_key())] = signing.public_key()
    for file in trusted_files:
        public = serialization.load_pem_public_key(file.read_bytes())
        if not isinstance(public, Ed25519PublicKey):
            raise ValueError(f"{file}: not an Ed25519 public key")
        trusted[key_id(public)] = public
    return LogKeys(signing, trusted)


def _load_private(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{os.fspath(path)}: not an Ed25519 private key")
    return key
