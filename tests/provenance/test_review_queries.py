"""The review page's SQL on both backends: the same answers from SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance import api
from provenance.c2pa.identity import APPROVAL_NAME
from provenance.gate.decision import DeliveryGate
from provenance.history.approvals import approvals_of
from provenance.stores import open_store
from provenance.stores import review as queries
from tests.conftest import copy_fixture


@pytest.fixture
def recorded(backend_workspace, tmp_path: Path):
    show = tmp_path / "show"
    copy_fixture("generators/comfyui.png", show / "sh010")
    copy_fixture("generators/a1111.jpg", show / "sh020")
    copy_fixture("c2pa/no_manifest.jpg", show / "sh020")
    config = backend_workspace.config
    with open_store(backend_workspace) as store:
        api.scan([show], config, store, tag=False)
        art = show / "sh010" / "comfyui.png"
        api.approve([str(art)], config, store, reference="STU-5", by="J. Legal")
        DeliveryGate(config, store).check([str(show)])
        yield store, show, config


def test_the_queue_pages_filters_and_counts_on_every_backend(recorded) -> None:
    store, show, config = recorded
    rows, cursor = queries.queue_page(store, queries.QueueFilter(status="any"), 1)
    assert len(rows) == 1 and cursor is not None
    more, end = queries.queue_page(store, queries.QueueFilter(status="any", before=cursor), 10)
    assert len(more) == 1 and end is None
    assert {r["content_id"] for r in rows + more} == {
        r["content_id"] for r in api.report_rows(store, config)
    }
    waiting, _ = queries.queue_page(store, queries.QueueFilter(), 10)
    assert [Path(p).name for r in waiting for p in r["paths"]] == ["a1111.jpg"]
    assert waiting[0]["evidence"]
    narrow, _ = queries.queue_page(store, queries.QueueFilter(path=str(show / "sh020")), 10)
    assert [r["content_id"] for r in narrow] == [r["content_id"] for r in waiting]
    assert queries.tools(store)
    assert queries.ai_totals(store) == {"approved": 1, "temporary": 1}


def test_checks_and_approvals_of_an_asset_on_every_backend(recorded) -> None:
    store, show, config = recorded
    cid = store.file(str(show / "sh020" / "a1111.jpg")).content_id
    checks = queries.checks(store, mentioning=[cid])
    assert len(checks) == 1 and checks[0]["verdict"] == "blocked" and checks[0]["facility"]
    assert queries.checks(store, before=checks[0]["seq"]) == []
    approved = store.file(str(show / "sh010" / "comfyui.png")).content_id
    found = approvals_of(store, store.linked(approved), config)
    approvals = sorted((a for v in found.values() for a in v), key=lambda a: a.approved_at)
    assert [a.reference for a in approvals] == ["STU-5", "STU-5"]  # carried to the new tag
    assert approvals[1].carried_from == approvals[0].content_id
    assert not any(a.unattested for a in approvals)  # both have their events in the log
    assert {a.signed_by for a in approvals} == {APPROVAL_NAME}  # and signed by the clearance
    assert queries.live_paths(store, [cid]) == {cid: [str(show / "sh020" / "a1111.jpg")]}
