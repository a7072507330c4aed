"""One place that configures the c2pa library: offline, lean, and with our trust anchors.

Reading and signing use the same settings: with trust configured, c2pa checks the signer's EKU
against `trust_config` on both sides (field notes, c2pa-python 0.38).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from provenance.config import Config

if TYPE_CHECKING:
    import c2pa

# emailProtection, documentSigning, C2PA claimSigning
SIGNING_EKUS = "1.3.6.1.5.5.7.3.4\n1.3.6.1.5.5.7.3.36\n1.3.6.1.4.1.62558.2.1\n"

# The label of the assertion provgate writes into its own tags.
PROVGATE_ASSERTION = "org.provgate.tag"


def c2pa_settings(trust_pem: str) -> dict[str, Any]:
    """Settings that keep c2pa off the network (no remote manifests, no OCSP) and lean."""
    settings: dict[str, Any] = {
        "verify": {
            "remote_manifest_fetch": False,
            "ocsp_fetch": False,
            "verify_after_reading": True,
        },
        "builder": {"thumbnail": {"enabled": False}},
        "core": {"backing_store_memory_threshold_in_mb": 16},
    }
    if trust_pem:
        settings["trust"] = {"user_anchors": trust_pem, "trust_config": SIGNING_EKUS}
    return settings


@lru_cache(maxsize=8)
def _context_for(trust_pem: str) -> c2pa.Context:
    import c2pa  # imported on use (~20 ms): most files carry no manifest

    return c2pa.Context.from_dict(c2pa_settings(trust_pem))


def c2pa_context(config: Config) -> c2pa.Context:
    """The shared c2pa Context for this configuration (built once per trust bundle)."""
    return _context_for(config.trust_pem())
