"""Trust: the gate is not talked into passing what it should block."""

from __future__ import annotations

import shutil
from pathlib import Path

from provenance import api
from provenance.gate.decision import DeliveryGate
from provenance.stores import Store
from provenance.workspace import init_workspace
from tests.conftest import copy_fixture


def _approved_elsewhere(tmp_path: Path, name: str) -> tuple[Path, object]:
    """A vendor's workspace (its own development CA) that tagged and approved a file."""
    vendor = init_workspace(tmp_path / "vendor_ws")
    art = copy_fixture("generators/comfyui.png", tmp_path / name)
    with Store(vendor.store_path) as store:
        api.scan([art.parent], vendor.config, store)
        api.approve([str(art)], vendor.config, store, reference="VENDOR-1", by="someone")
        assert DeliveryGate(vendor.config, store).check([str(art)]).verdict == "pass"
    return art, vendor


def test_an_approval_signed_by_an_unknown_key_does_not_approve(tmp_path, workspace, store):
    art, _ = _approved_elsewhere(tmp_path, "vendor_delivery")
    report = DeliveryGate(workspace.config, store).check([str(art)])
    assert report.verdict == "blocked"
    reason = report.assets[0].reasons[0]
    assert "VENDOR-1" in reason and "not trusted" in reason


def test_an_approval_from_a_trusted_signer_counts_for_a_fresh_store(tmp_path, workspace):
    art, vendor = _approved_elsewhere(tmp_path, "vendor_delivery")
    trusting = init_workspace(tmp_path / "studio_ws")
    text = (
        (trusting.root / "provgate.toml")
        .read_text()
        .replace(
            'anchors = ["keys/dev-ca.pem"]',
            f'anchors = ["keys/dev-ca.pem", "{vendor.root / "keys" / "dev-ca.pem"}"]',
        )
    )
    (trusting.root / "provgate.toml").write_text(text)
    from provenance.workspace import open_workspace

    # Trusting the vendor's CA makes its manifests read trusted, but not its approvals: only
    # identities listed as trusted for approvals carry one (issue 17).
    studio = open_workspace(trusting.root)
    with Store(studio.store_path) as store:
        report = DeliveryGate(studio.config, store).check([str(art)])
    assert report.verdict == "blocked"
    assert "not trusted for approvals" in report.assets[0].reasons[0]
    vendor_approvals = vendor.root / "keys" / "approval-chain.pem"
    (trusting.root / "provgate.toml").write_text(
        text.replace(
            'approval_signers = ["keys/approval-chain.pem"]',
            f'approval_signers = ["keys/approval-chain.pem", "{vendor_approvals}"]',
        )
    )
    studio = open_workspace(trusting.root)
    with Store(studio.store_path) as store:
        report = DeliveryGate(studio.config, store).check([str(art)])
    assert report.verdict == "pass", report.assets[0].reasons
    assert report.assets[0].approval["source"] == "trusted manifest"


def test_an_approval_copied_onto_another_asset_does_not_transfer(tmp_path, workspace, store):
    art = copy_fixture("generators/comfyui.png", tmp_path / "a")
    api.scan([art.parent], workspace.config, store)
    api.approve([str(art)], workspace.config, store, reference="STU-5", by="J")
    # Graft the approved file's manifest store (its caBX chunk, signed by our own trusted key)
    # onto another AI picture that nobody approved.
    donor = art.read_bytes()
    start = donor.index(b"caBX") - 4
    length = int.from_bytes(donor[start : start + 4], "big")
    chunk = donor[start : start + 12 + length]
    other = copy_fixture("generators/a1111.png", tmp_path / "b")
    data = other.read_bytes()
    iend = data.rindex(b"IEND") - 4
    other.write_bytes(data[:iend] + chunk + data[iend:])
    report = DeliveryGate(workspace.config, store).check([str(other)])
    assert report.verdict == "blocked"
    reading = report.assets[0].reading
    assert reading.c2pa is not None and reading.c2pa.provgate_tag["status"] == "approved"
    assert "STU-5" in report.assets[0].reasons[0] and "invalid" in report.assets[0].reasons[0]


def test_a_store_edited_behind_the_tools_back_is_detected(tmp_path, workspace, store):
    art = copy_fixture("generators/comfyui.png", tmp_path / "show")
    api.scan([art.parent], workspace.config, store)
    api.approve([str(art)], workspace.config, store, reference="STU-1", by="J")
    store.conn.execute("DROP TRIGGER events_no_update")
    store.conn.execute(
        "UPDATE events SET detail = replace(detail, 'STU-1', 'STU-2') WHERE kind = 'approved'"
    )
    count, broken = store.verify_events()
    assert broken is not None and "edited" in broken.reason


def test_renaming_an_ai_file_to_look_harmless_changes_nothing(tmp_path, workspace, store):
    art = copy_fixture("generators/a1111.png", tmp_path / "pkg")
    disguised = art.with_name("sh010_plate_v001.dpx")
    shutil.move(art, disguised)
    report = DeliveryGate(workspace.config, store).check([str(disguised)])
    assert report.verdict == "blocked"
