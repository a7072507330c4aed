"""The review page end to end: a real uvicorn server and Debian's headless Chromium, driven
by Playwright, through sign-in, the queue, an asset page and an approval.

Playwright is pointed at /usr/bin/chromium; it never downloads a browser of its own."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from cli.review.app import create_app
from provenance.gate.decision import DeliveryGate
from provenance.stores import Store
from tests.cli.test_review import PASSWORD, make_workspace

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's chromium is not at /usr/bin/chromium (.ci/run installs it)",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, str, object]]:
    """The review page on a free loopback port, in a thread; stopped after the test."""
    ws, show, cid = make_workspace(tmp_path)
    port = free_port()
    config = uvicorn.Config(
        create_app(ws),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws="none",
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="review-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        assert thread.is_alive(), "the server thread died"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", show, cid, ws
    finally:
        server.should_exit = True
        thread.join(10)
        assert not thread.is_alive()


def test_sign_in_queue_asset_and_approve_in_chromium(served, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    base, show, cid, ws = served
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(base + "/")
            assert page.url.startswith(base + "/login")  # nothing without a session
            page.fill("input[name=name]", "alice")
            page.fill("input[name=password]", PASSWORD)
            page.click("form[action='/login'] button[type=submit]")
            page.wait_for_url(base + "/")
            assert page.locator("h1").inner_text() == "AI material awaiting a decision"
            row = page.locator("table.queue tbody tr")
            assert row.count() == 1
            assert "ComfyUI" in row.inner_text()
            page.wait_for_function("() => document.querySelector('td.thumb img').complete")
            thumb_width = page.evaluate("() => document.querySelector('td.thumb img').naturalWidth")
            assert thumb_width > 0  # the still's cached JPEG thumbnail decoded in the browser
            page.screenshot(path=str(tmp_path / "queue.png"), full_page=True)

            page.click(f"a.path[href='/asset/{cid}']")
            page.wait_for_url(f"{base}/asset/{cid}")
            assert "generator:comfyui" in page.content()
            page.fill("input[name=reference]", "LEGAL-2025-117")
            page.select_option("select[name=use]", "vfx-final")
            page.fill("input[name=note]", "Approved by email from the studio")
            page.click("form[action$='/approve'] button[type=submit]")
            page.wait_for_selector("p.flash")
            assert "Approved under LEGAL-2025-117 by alice" in page.inner_text("p.flash")
            assert page.inner_text("dl.facts .status") == "approved"
            page.screenshot(path=str(tmp_path / "approved.png"), full_page=True)
        finally:
            browser.close()
    assert (tmp_path / "queue.png").stat().st_size > 10_000
    assert (tmp_path / "approved.png").stat().st_size > 10_000
    with Store(ws.store_path) as store:
        assert DeliveryGate(ws.config, store).check([str(show)]).verdict == "pass"
