"""Signers for provgate's tags: a key file on disk, or an external command (HSM, cloud KMS).

The tag writer needs a c2pa.Signer only for the length of one signature: `TagSigner.session()`
hands one out and turns the signer's own failures into SigningError, so a broken signer is told
apart from a file that cannot be tagged. No signer ever uses a timestamp authority: a TSA request
would leave the machine (SPEC §8), and an unreachable TSA makes c2pa signing fail outright.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from provenance.config import Config
from provenance.errors import SigningError

ALGORITHMS: dict[str, c2pa.C2paSigningAlg] = {
    "es256": c2pa.C2paSigningAlg.ES256,
    "es384": c2pa.C2paSigningAlg.ES384,
    "es512": c2pa.C2paSigningAlg.ES512,
    "ps256": c2pa.C2paSigningAlg.PS256,
    "ps384": c2pa.C2paSigningAlg.PS384,
    "ps512": c2pa.C2paSigningAlg.PS512,
    "ed25519": c2pa.C2paSigningAlg.ED25519,
}

DEFAULT_COMMAND_TIMEOUT = 30.0


class TagSigner(Protocol):
    """Something that signs C2PA claims for provgate."""

    @property
    def description(self) -> str:
        """Who signs, for messages (never secret material)."""
        ...

    def session(self) -> AbstractContextManager[c2pa.Signer]:
        """A c2pa.Signer for one signing; failures of the signer itself become SigningError."""
        ...

    @property
    def certificate(self) -> x509.Certificate:
        """The signing certificate (the chain's leaf)."""
        ...

    @property
    def alg(self) -> str:
        """The configured algorithm name (`es256`, ...)."""
        ...

    def sign_bytes(self, data: bytes) -> bytes:
        """A detached signature of `data` by this identity (see `c2pa/detached.py`)."""
        ...


def algorithm(name: str) -> c2pa.C2paSigningAlg:
    """The c2pa algorithm for a configured name (`es256`, `ps256`, ...)."""
    try:
        return ALGORITHMS[name.lower()]
    except KeyError:
        known = ", ".join(ALGORITHMS)
        raise SigningError(f"unknown signing algorithm {name!r} (use one of {known})") from None


class KeyFileSigner:
    """Signs with a PEM private key read from disk (the development identity, or a studio's)."""

    def __init__(self, cert_chain: Path, key: Path, alg: str = "es256") -> None:
        self.cert_chain = cert_chain
        self.key = key
        self._alg = algorithm(alg)
        self.alg = alg.lower()
        self._chain_pem, self.certificate = _read_chain(cert_chain)
        self._key_pem = _read_key(key, self.certificate)

    @property
    def description(self) -> str:
        return f"key {self.key}"

    def sign_bytes(self, data: bytes) -> bytes:
        from provenance.c2pa.detached import sign_with_key

        key = serialization.load_pem_private_key(self._key_pem, password=None)
        try:
            return sign_with_key(key, self.alg, data)
        except ValueError as exc:
            raise SigningError(str(exc), self.key) from None

    @contextmanager
    def session(self) -> Iterator[c2pa.Signer]:
        info = c2pa.C2paSignerInfo(self._alg, self._chain_pem, self._key_pem, None)
        try:
            signer = c2pa.Signer.from_info(info)
        except c2pa.C2paError as exc:
            raise SigningError(f"c2pa refused the signer: {_one_line(exc)}", self.key) from exc
        with signer:
            try:
                yield signer
            except c2pa.C2paError.Signature as exc:
                raise SigningError(f"signing failed: {_one_line(exc)}", self.cert_chain) from exc


class CommandSigner:
    """Signs by running an external command: the bytes to sign on stdin, the signature on stdout.

    The signature may be raw (r||s for ECDSA) or DER; c2pa accepts both. The command runs once
    per tag, without a shell; a non-zero exit, no output or a timeout is a SigningError carrying
    the first line of the command's stderr.
    """

    def __init__(
        self,
        cert_chain: Path,
        command: Sequence[str],
        alg: str = "es256",
        timeout: float = DEFAULT_COMMAND_TIMEOUT,
    ) -> None:
        if not command:
            raise SigningError("empty signing command")
        self.cert_chain = cert_chain
        self.command = tuple(command)
        self.timeout = timeout
        self._alg = algorithm(alg)
        self.alg = alg.lower()
        self._chain_pem, self.certificate = _read_chain(cert_chain)

    @property
    def description(self) -> str:
        return f"command {self.command[0]}"

    def sign_bytes(self, data: bytes) -> bytes:
        signature = self._run(data)
        if isinstance(signature, str):
            raise SigningError(signature)
        return signature

    @contextmanager
    def session(self) -> Iterator[c2pa.Signer]:
        failures: list[str] = []

        def sign(data: bytes) -> bytes:
            # c2pa-python logs (on the "c2pa" logger) any exception raised here and reports
            # only a generic error: record the reason and return b"" (c2pa's "failed") instead.
            if failures:
                return b""
            reason = self._run(data)
            if isinstance(reason, str):
                failures.append(reason)
                return b""
            return reason

        try:
            signer = c2pa.Signer.from_callback(sign, self._alg, self._chain_pem.decode(), None)
        except c2pa.C2paError as exc:
            message = f"c2pa refused the signer: {_one_line(exc)}"
            raise SigningError(message, self.cert_chain) from exc
        with signer:
            try:
                yield signer
            except c2pa.C2paError as exc:
                if failures:
                    raise SigningError(failures[0]) from exc
                if isinstance(exc, c2pa.C2paError.Signature):
                    message = f"signing failed: {_one_line(exc)}"
                    raise SigningError(message, self.cert_chain) from exc
                raise

    def _run(self, data: bytes) -> bytes | str:
        """The signature, or a one-line reason why the command did not give one."""
        name = self.command[0]
        try:
            proc = subprocess.run(
                self.command, input=data, capture_output=True, timeout=self.timeout, check=False
            )
        except subprocess.TimeoutExpired:
            return f"signing command {name} timed out after {self.timeout:g} s"
        except OSError as exc:
            return f"signing command {name} cannot run: {exc.strerror or exc}"
        if proc.returncode != 0:
            lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            detail = lines[0] if lines else "no message"
            return f"signing command {name} failed (exit {proc.returncode}): {detail}"
        if not proc.stdout:
            return f"signing command {name} wrote no signature"
        return proc.stdout


def signer_from_config(config: Config, *, approval: bool = False) -> TagSigner:
    """The workspace's tagging signer, or (`approval`) its approval signer: the external
    command when one is configured, else the key file."""
    conf = config.approval_signer if approval else config.signer
    section = "approval_signer" if approval else "signer"
    if conf.cert_chain is None:
        raise SigningError(f"no signer certificate chain configured ({section}.cert_chain)")
    if conf.command:
        return CommandSigner(conf.cert_chain, conf.command, conf.algorithm)
    if conf.key is None:
        raise SigningError(f"no signing key configured (set {section}.key or {section}.command)")
    return KeyFileSigner(conf.cert_chain, conf.key, conf.algorithm)


def approval_identities(config: Config) -> frozenset[tuple[str, str]]:
    """(serial number in decimal, common name) of each certificate trusted for approvals; a
    listed file that is missing or unreadable trusts nobody (fail closed)."""
    found = set()
    for path in config.approval_signers:
        try:
            leaf = x509.load_pem_x509_certificates(path.read_bytes())[0]
        except (OSError, ValueError):
            continue
        names = leaf.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
        if names:
            found.add((str(leaf.serial_number), str(names[0].value)))
    return frozenset(found)


def _read_chain(path: Path) -> tuple[bytes, x509.Certificate]:
    """The PEM chain and its leaf, refusing what c2pa would reject with a vaguer message."""
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise SigningError(f"certificate chain unreadable: {exc.strerror}", path) from exc
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError:
        raise SigningError("not a PEM certificate chain", path) from None
    leaf = certs[0]
    now = dt.datetime.now(dt.UTC)
    if now > leaf.not_valid_after_utc:
        when = f"{leaf.not_valid_after_utc:%Y-%m-%d}"
        raise SigningError(f"signer certificate expired on {when}", path)
    if now < leaf.not_valid_before_utc:
        when = f"{leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
        raise SigningError(f"signer certificate not valid before {when}", path)
    if leaf.issuer == leaf.subject:
        # c2pa refuses a self-signed signer ("the certificate was self-signed").
        raise SigningError("signer certificate is self-signed; c2pa needs one issued by a CA", path)
    return pem, leaf


def _read_key(path: Path, leaf: x509.Certificate) -> bytes:
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise SigningError(f"signing key unreadable: {exc.strerror}", path) from exc
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise SigningError("not an unencrypted PEM private key", path) from None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    mine = key.public_key().public_bytes(serialization.Encoding.DER, public)
    if mine != leaf.public_key().public_bytes(serialization.Encoding.DER, public):
        raise SigningError("key does not match the signer certificate", path)
    return pem


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
