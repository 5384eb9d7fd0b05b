"""The chat widget on a shop's own page (examples/shop/) in Debian's Chromium: one script tag
from the API's origin, a public key, CORS for the page's origin. Open the bubble, ask for a
bundle, see the answer's first lines before the writer has finished, see the cards, add one
item and the whole bundle (the page's own basket hears `cartsmith:add-to-cart`, the API's
cart fills), at desktop and phone widths; no request leaves the two origins; an axe-core scan
finds no serious or critical violation; the script stays under 30 kB."""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scripted_model import ScriptedWriter
from test_api import serve_in_thread
from test_ui import CHROMIUM, CHROMIUM_ARGS

from assistant.dialogue.service import Assistant
from assistant.serve.api import WIDGET_JS, create_app
from assistant.serve.web_access import WebAccess

ROOT = Path(__file__).resolve().parent.parent
SHOP_PAGE = ROOT / "examples" / "shop" / "index.html"
AXE = Path(os.environ.get("CARTSMITH_AXE", ROOT / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"))
PRIVATE, PUBLIC = "server-secret-key", "pk_example_page_key"


def test_the_widget_is_small_and_self_contained() -> None:
    assert len(WIDGET_JS) <= 30_000
    text = WIDGET_JS.decode()
    assert "http://" not in text.replace("http://127.0.0.1", "") and "https://" not in text.replace(
        "https://assistant.example", "")  # no third-party address in it


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright import sync_api

    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: make browser")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def shop_site(scripted_assistant: Assistant, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(the shop page's URL, the API's base URL): two origins on loopback."""
    page_server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(tmp_path)))
    shop_origin = f"http://127.0.0.1:{page_server.server_address[1]}"
    app = create_app(scripted_assistant, api_keys=[PRIVATE], rate_limit_per_minute=None,
                     web=WebAccess.of(public_keys=[PUBLIC], cors_origins=[shop_origin]))
    with serve_in_thread(app) as api:
        (tmp_path / "index.html").write_text(SHOP_PAGE.read_text(encoding="utf-8").replace(
            "http://127.0.0.1:8000", api), encoding="utf-8")
        threading.Thread(target=page_server.serve_forever, daemon=True).start()
        try:
            yield shop_origin + "/index.html", api
        finally:
            page_server.shutdown()
            page_server.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        return None


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)])
def test_a_shopper_uses_the_widget_on_a_shop_page(chromium: Any, shop_site: tuple[str, str], width: int, height: int,
                                                  scripted_assistant: Assistant, scripted_writer: ScriptedWriter) -> None:
    shop_url, api = shop_site
    gate = threading.Event()
    scripted_writer.line_gate = gate  # the writer holds its last lines until the test has seen the first
    page = chromium.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(20_000)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    events: list[Any] = []
    page.expose_function("recordCartEvent", lambda detail: events.append(detail))
    page.add_init_script("document.addEventListener('cartsmith:add-to-cart', e => window.recordCartEvent(e.detail))")
    page.goto(shop_url)

    launcher = page.get_by_role("button", name="Open the shopping assistant")
    launcher.click()
    field = page.get_by_label("Your message")
    assert field.evaluate("el => el.getRootNode().activeElement === el")  # focus moved into the chat
    field.fill("a tea party under £20")
    field.press("Enter")
    log = page.get_by_role("log", name="Conversation")
    # the first checked lines arrive while the writer still waits: streamed, not all at once
    page.get_by_text("Picked for tea party:").wait_for()
    assert not gate.is_set() and scripted_writer.released == []
    cards = page.get_by_role("list", name="Suggested bundle")
    assert cards.get_by_role("listitem").count() >= 2
    first_card = cards.get_by_role("listitem").first
    assert "£" in first_card.inner_text()
    gate.set()
    page.get_by_text("Total: £").wait_for()
    assert log.get_attribute("aria-busy") == "false" or page.wait_for_function(
        "() => document.querySelector('cartsmith-chat').shadowRoot.querySelector('[role=log]')"
        ".getAttribute('aria-busy') === 'false'")

    first_card.get_by_role("button").click()
    page.get_by_role("button", name="Add the whole bundle to cart", exact=False).click()
    page.wait_for_function("() => document.getElementById('cart-lines').children.length >= 3")
    page.get_by_text("to your cart.").last.wait_for()  # the API's cart is filled too
    page.wait_for_function("() => [...document.querySelector('cartsmith-chat').shadowRoot.querySelectorAll('.bot')]"
                           ".filter(m => m.textContent.endsWith('to your cart.')).length === 2")
    assert len(events) == 2 and len(events[0]["items"]) == 1 and len(events[1]["items"]) >= 1
    session_id = events[0]["session_id"]
    bundle_ids = {item["item_id"] for item in scripted_assistant.state(session_id).bundle["items"]}
    # one item, then the rest of the bundle: each once, with the bundle's quantities
    added = [line["item_id"] for event in events for line in event["items"]]
    assert sorted(added) == sorted(bundle_ids)
    assert page.locator("#cart-count").inner_text() == str(sum(line["quantity"] for e in events for line in e["items"]))
    cart = scripted_assistant.state(session_id).cart
    assert {line["item_id"] for line in cart} == bundle_ids

    # phone width: the panel fits the screen
    box = page.get_by_role("dialog", name="Gift helper").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
    # keyboard: Escape closes and gives focus back to the launcher
    page.keyboard.press("Escape")
    assert launcher.evaluate("el => el.getRootNode().activeElement === el")

    origins = {shop_url.rsplit("/", 1)[0], api}
    assert all(any(url.startswith(origin) for origin in origins) for url in requested), requested

    if not AXE.exists():
        pytest.fail(f"axe-core is not at {AXE}: make browser (npm install axe-core)")
    launcher.click()
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                          ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))")
    serious = [v for v in found if v["impact"] in ("serious", "critical")]
    assert not serious, serious
    page.close()
