"""The development signing identity `provgate init` creates: a local test CA and a signer.

c2pa refuses a self-signed certificate as a signer ("the certificate was self-signed"), so the
identity is a two-level chain: a CA that is only ever a trust anchor, and a leaf that signs. The
leaf carries what c2pa-rs checks for (field notes, c2pa-python 0.38): X.509 v3, CA:FALSE,
KeyUsage digitalSignature, an Authority Key Identifier, and an EKU other than
anyExtendedKeyUsage (emailProtection is accepted without extra settings). Everything is named
"NOT FOR DELIVERY": a studio replaces it with its own certificate or an external signer.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from provenance import atomic
from provenance.errors import WorkspaceError

CA_CERT = "dev-ca.pem"
CA_KEY = "dev-ca-key.pem"
SIGNER_CHAIN = "signer-chain.pem"
SIGNER_KEY = "signer-key.pem"

CA_NAME = "provgate DEVELOPMENT CA - NOT FOR DELIVERY"
SIGNER_NAME = "provgate development signer - NOT FOR DELIVERY"
# The approval identity: the clearance side's, apart from the tagging key every watcher host
# holds. Only manifests it signs can carry an approval (a studio uses its own, or a command).
APPROVAL_CHAIN = "approval-chain.pem"
APPROVAL_KEY = "approval-key.pem"
APPROVAL_NAME = "provgate development APPROVAL signer - NOT FOR DELIVERY"

CA_VALIDITY = dt.timedelta(days=10 * 365)
SIGNER_VALIDITY = dt.timedelta(days=5 * 365)
# Certificates start an hour in the past so a slightly slow clock elsewhere still accepts them.
CLOCK_SKEW = dt.timedelta(hours=1)

_KEY_MODE = 0o600
_CERT_MODE = 0o644


def create_dev_identity(keys_dir: Path) -> None:
    """Write the development CA and signer into `keys_dir`, completing what is missing.

    Idempotent: an existing file is never overwritten. Every file appears whole or not at all, so
    an interrupted run is finished by the next one (keys are written before the certificates that
    depend on them). Private keys are created 0600 and are never readable by others, not even
    for a moment. Raises WorkspaceError when the files left are inconsistent (a signer chain
    without its key), OSError when the folder cannot be written.
    """
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    chain_path, signer_key_path = keys_dir / SIGNER_CHAIN, keys_dir / SIGNER_KEY
    if chain_path.exists() and not signer_key_path.exists():
        message = f"{SIGNER_KEY} is missing; move {SIGNER_CHAIN} away to renew the identity"
        raise WorkspaceError(message, keys_dir)

    from provenance.stores.anchor import create_log_key

    create_log_key(keys_dir)
    ca_key = _load_or_create_key(keys_dir / CA_KEY)
    ca_cert = _load_or_create_ca_cert(keys_dir / CA_CERT, ca_key)
    for chain, key_name, name in (
        (SIGNER_CHAIN, SIGNER_KEY, SIGNER_NAME),
        (APPROVAL_CHAIN, APPROVAL_KEY, APPROVAL_NAME),
    ):
        key = _load_or_create_key(keys_dir / key_name)
        if not (keys_dir / chain).exists():
            leaf = _signer_certificate(key, ca_cert, ca_key, name)
            pem = leaf.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(
                serialization.Encoding.PEM
            )
            _write_new(keys_dir / chain, pem, _CERT_MODE)


def _load_or_create_key(path: Path) -> ec.EllipticCurvePrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise WorkspaceError("not an EC private key", path)
        return key
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_new(path, pem, _KEY_MODE)
    return key


def _load_or_create_ca_cert(path: Path, ca_key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    if path.exists():
        cert = x509.load_pem_x509_certificate(path.read_bytes())
        if cert.public_key() != ca_key.public_key():
            raise WorkspaceError(f"does not match {CA_KEY}", path)
        return cert
    cert = _ca_certificate(ca_key)
    _write_new(path, cert.public_bytes(serialization.Encoding.PEM), _CERT_MODE)
    return cert


def _ca_certificate(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "provgate (development)"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA256())
    )


def _signer_certificate(
    key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    name: str = SIGNER_NAME,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, name),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "provgate (development)"),
                ]
            )
        )
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(min(now + SIGNER_VALIDITY, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        # c2pa accepts emailProtection without settings; documentSigning needs trust_config.
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.EMAIL_PROTECTION, x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create `path` with `data`, whole or not at all, never replacing an existing file (a
    concurrent `init` that finished first keeps its key)."""
    atomic.write_bytes(path, data, mode=mode, replace=False)
