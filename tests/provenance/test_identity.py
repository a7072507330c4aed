"""The development identity: what `provgate init` writes, and that c2pa accepts it."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import stat
from pathlib import Path

import c2pa
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from PIL import Image

from provenance.c2pa.context import c2pa_settings
from provenance.c2pa.identity import (
    APPROVAL_CHAIN,
    APPROVAL_KEY,
    CA_CERT,
    CA_KEY,
    SIGNER_CHAIN,
    SIGNER_KEY,
    create_dev_identity,
)
from provenance.c2pa.signing import KeyFileSigner
from provenance.errors import WorkspaceError

DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    folder = tmp_path / "keys"
    create_dev_identity(folder)
    return folder


def _chain(keys: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates((keys / SIGNER_CHAIN).read_bytes())


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_writes_the_two_identities_the_log_key_and_nothing_else(keys: Path) -> None:
    assert sorted(p.name for p in keys.iterdir()) == sorted(
        [
            CA_CERT, CA_KEY, SIGNER_CHAIN, SIGNER_KEY, APPROVAL_CHAIN, APPROVAL_KEY,
            "log-key.pem", "log-key.pub.pem",
        ]
    )  # fmt: skip
    approval = x509.load_pem_x509_certificates((keys / APPROVAL_CHAIN).read_bytes())[0]
    assert "APPROVAL" in approval.subject.rfc4514_string()
    assert "NOT FOR DELIVERY" in approval.subject.rfc4514_string()
    assert approval.public_key() != _chain(keys)[0].public_key()
    assert _mode(keys / APPROVAL_KEY) == _mode(keys / "log-key.pem") == 0o600


def test_private_keys_are_0600_even_with_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        create_dev_identity(tmp_path / "keys")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "keys" / CA_KEY) == 0o600
    assert _mode(tmp_path / "keys" / SIGNER_KEY) == 0o600
    assert _mode(tmp_path / "keys") == 0o700


def test_ca_is_clearly_marked_not_for_delivery(keys: Path) -> None:
    ca = x509.load_pem_x509_certificate((keys / CA_CERT).read_bytes())
    assert "NOT FOR DELIVERY" in ca.subject.rfc4514_string()
    assert "DEVELOPMENT" in ca.subject.rfc4514_string()
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_signer_certificate_has_what_c2pa_checks(keys: Path) -> None:
    leaf, ca = _chain(keys)
    assert leaf.version == x509.Version.v3
    assert leaf.issuer == ca.subject
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    ekus = list(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in ekus
    assert DOCUMENT_SIGNING in ekus
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    leaf.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    key = leaf.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
    lifetime = leaf.not_valid_after_utc - leaf.not_valid_before_utc
    assert dt.timedelta(days=4 * 365) < lifetime < dt.timedelta(days=6 * 365)
    leaf.verify_directly_issued_by(ca)


def test_second_run_leaves_every_file_alone(keys: Path) -> None:
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in keys.iterdir()}
    create_dev_identity(keys)
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in keys.iterdir()}
    assert after == before


def test_missing_signer_certificate_is_issued_again_by_the_same_ca(keys: Path) -> None:
    ca_bytes = (keys / CA_CERT).read_bytes()
    key_bytes = (keys / SIGNER_KEY).read_bytes()
    (keys / SIGNER_CHAIN).unlink()
    create_dev_identity(keys)
    leaf, ca = _chain(keys)
    assert (keys / CA_CERT).read_bytes() == ca_bytes
    assert (keys / SIGNER_KEY).read_bytes() == key_bytes
    leaf.verify_directly_issued_by(ca)
    KeyFileSigner(keys / SIGNER_CHAIN, keys / SIGNER_KEY)  # key and certificate still match


def test_signer_chain_without_its_key_is_refused(keys: Path) -> None:
    (keys / SIGNER_KEY).unlink()
    with pytest.raises(WorkspaceError, match="signer-key.pem is missing"):
        create_dev_identity(keys)
    assert not (keys / SIGNER_KEY).exists()


@pytest.mark.parametrize(
    ("trusted", "state"), [(False, "Valid"), (True, "Trusted")], ids=["no-anchor", "dev-ca-anchor"]
)
def test_c2pa_accepts_the_identity(keys: Path, trusted: bool, state: str) -> None:
    trust = (keys / CA_CERT).read_text("ascii") if trusted else ""
    context = c2pa.Context.from_dict(c2pa_settings(trust))
    source = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(source, "PNG")
    builder = c2pa.Builder(
        {
            "claim_generator_info": [{"name": "provgate-test"}],
            "assertions": [
                {
                    "label": "c2pa.actions.v2",
                    "data": {
                        "actions": [
                            {
                                "action": "c2pa.created",
                                "digitalSourceType": "http://cv.iptc.org/newscodes/"
                                "digitalsourcetype/digitalCreation",
                            }
                        ]
                    },
                }
            ],
        },
        context=context,
    )
    signed = io.BytesIO()
    signer = KeyFileSigner(keys / SIGNER_CHAIN, keys / SIGNER_KEY)
    with signer.session() as c2pa_signer:
        source.seek(0)
        builder.sign(c2pa_signer, "image/png", source, signed)
    signed.seek(0)
    with c2pa.Reader("image/png", signed, None, context) as reader:
        assert reader.get_validation_state() == state
        codes = [s["code"] for s in json.loads(reader.json()).get("validation_status") or []]
    assert codes == ([] if trusted else ["signingCredential.untrusted"])
