"""The Gradio UI, driven in headless Chromium with Playwright (Debian's chromium; no browser downloads).

* rendering helpers: escaping, cards, cart (no browser);
* the UI over the real Assistant with the scripted model (`scripted_model.py`): cards appear
  before the explanation is written, add-to-cart (one card, the whole bundle), new
  conversation;
* the UI over the real Assistant with the tuned SmolLM2 (slow): a tea-party bundle with
  prices, add to cart, the cart updates; a screenshot goes to reports/ui.png.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scripted_model import ScriptedWriter

from assistant.dialogue.service import Assistant
from assistant.records import CartLine
from assistant.serve import ui

REPORTS = Path(__file__).resolve().parents[1] / "reports"
CHROMIUM = os.environ.get("CARTSMITH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------------------------------
# rendering
# ------------------------------------------------------------------------------------------
def test_cards_and_cart_are_escaped() -> None:
    item = {"item_id": "X<1>", "title": "<script>alert(1)</script> Mug & Saucer", "price": 3.5,
            "role": "anchor", "reasons": ["bought with <b>teapots</b> 12 times"],
            "evidence": [{"kind": "co_purchase", "text": "bought with <b>teapots</b> 12 times"},
                         {"kind": "similar_text", "text": "close to \"tea\""}]}
    card = ui.render_card(item, 1)
    assert "<script>" not in card and "&lt;script&gt;" in card and "Mug &amp; Saucer" in card
    assert "£3.50" in card and "&lt;b&gt;teapots" in card and "Why this item" in card
    assert "co purchase" in card and "&quot;tea&quot;" in card and "your pick" in card
    cart = ui.render_cart([CartLine("A", "<i>Lamp</i>", 2.25, 2), CartLine("B", "Free gift", None, 1)])
    assert "&lt;i&gt;Lamp" in cart and "£4.50" in cart and "Cart total: £4.50" in cart and "3 items" in cart
    assert "empty" in ui.render_cart([])


def test_summary_says_what_changed() -> None:
    before = {"items": [{"item_id": "A"}, {"item_id": "B"}], "total": 12.0}
    edited = {"items": [{"item_id": "A"}, {"item_id": "C"}], "total": 9.5, "budget": 20.0, "need": "tea <party>",
              "diff": {"added": ["Cup <C>"], "removed": ["Bowl B"], "total_before": 12.0}}
    text = ui.render_summary(edited, before)
    assert "Bundle total: £9.50" in text and "added Cup &lt;C&gt;" in text and "removed Bowl B" in text
    assert "£12.00 → £9.50" in text and "tea &lt;party&gt;" in text and "budget £20.00" in text
    fresh = {"items": [{"item_id": "Z"}], "total": 4.0, "diff": {}}
    assert "a new bundle" in ui.render_summary(fresh, before)
    assert "What changed" not in ui.render_summary(fresh, None)


# ------------------------------------------------------------------------------------------
# in the browser
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright import (
        sync_api as playwright_api,  # a dev dependency: missing means a broken install
    )
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install -y chromium chromium-driver")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def serve_ui(assistant: Any) -> tuple[Any, str]:
    demo = ui.build_ui(assistant)
    port = free_port()
    ui.launch(demo, "127.0.0.1", port, block=False)
    return demo, f"http://127.0.0.1:{port}/"


def open_page(browser: Any, url: str) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 1100})
    page.set_default_timeout(30_000)
    page.goto(url)
    page.wait_for_selector("#cs-input textarea")
    return page


def send(page: Any, text: str) -> None:
    page.fill("#cs-input textarea", text)
    page.click("#cs-send")


def money(value: float | None) -> str:
    return f"£{value or 0:,.2f}"


def test_ui_over_the_scripted_model(browser: Any, scripted_assistant: Assistant,
                                    scripted_writer: ScriptedWriter) -> None:
    release = threading.Event()
    assistant, writer = scripted_assistant, scripted_writer
    writer.release = release
    demo, url = serve_ui(assistant)
    try:
        page = open_page(browser, url)
        send(page, "a tea party under £20")
        # The cards come while the writer still waits for the release: bundle first, words after.
        page.wait_for_selector("#cs-card-0 .cs-card")
        assert writer.released == [] and not release.is_set()
        item_ids = [page.get_attribute(f"#cs-slot-{n} .cs-card", "data-item-id") for n in range(2)]
        items = [assistant.index.catalog.get(item_id) for item_id in item_ids]
        assert items[0].title in page.inner_text("#cs-card-0")
        assert money(items[0].price) in page.inner_text("#cs-card-0 .cs-price")
        assert page.is_visible("#cs-slot-3") and not page.is_visible("#cs-slot-4")  # four items
        shown_total = re.search(r"Bundle total: £([\d,]+\.\d\d)", page.inner_text("#cs-summary"))
        assert shown_total is not None
        total = float(shown_total.group(1).replace(",", ""))
        assert page.is_disabled("#cs-send")  # one turn at a time per browser session
        release.set()
        page.wait_for_selector("#cs-chat :text('Picked for tea party:')")
        page.wait_for_function("() => !document.querySelector('#cs-send').disabled")
        assert page.is_enabled("#cs-input textarea")
        assert writer.released == [True]

        page.click("#cs-card-1 summary")
        assert page.is_visible("#cs-card-1 .cs-why li")

        page.click("#cs-add-1")
        page.wait_for_selector(f"#cs-cart :text('Cart total: {money(items[1].price)}')")
        page.click("#cs-add-all")
        page.wait_for_selector(f"#cs-cart :text('Cart total: {money(round(total + (items[1].price or 0), 2))}')")
        assert "2 ×" in page.inner_text("#cs-cart")

        page.click("#cs-new")
        page.wait_for_selector("#cs-cart :text('Your cart is empty')")
        assert not page.is_visible("#cs-slot-0")
        page.close()
    finally:
        demo.close()


@pytest.mark.slow
def test_ui_over_the_tuned_model(browser: Any, real_assistant: Assistant) -> None:
    assistant = real_assistant
    demo, url = serve_ui(assistant)
    try:
        page = open_page(browser, url)
        page.set_default_timeout(180_000)
        start = time.perf_counter()
        send(page, "a bundle for a tea party under £20")
        page.wait_for_selector("#cs-card-0 .cs-card")
        cards_after = time.perf_counter() - start
        price = page.inner_text("#cs-card-0 .cs-price")
        assert price.startswith("£"), price
        item_id = page.get_attribute("#cs-card-0 .cs-card", "data-item-id")
        title = assistant.index.catalog.get(item_id).title
        assert title in page.inner_text("#cs-card-0 h4")
        page.wait_for_function("() => !document.querySelector('#cs-send').disabled")  # the turn is over
        print(f"\ncards after {cards_after:.1f}s, whole turn {time.perf_counter() - start:.1f}s")
        page.click("#cs-add-0")
        page.wait_for_selector(f"#cs-cart :text('{price}')")
        cart = page.inner_text("#cs-cart")
        assert "Cart total" in cart and title in cart
        page.click("#cs-card-0 summary")
        REPORTS.mkdir(exist_ok=True)
        page.screenshot(path=str(REPORTS / "ui.png"), full_page=True)
        page.close()
    finally:
        demo.close()
