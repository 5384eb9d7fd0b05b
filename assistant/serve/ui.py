"""cartsmith's web UI (Gradio 6): a thin adapter over one `Assistant`.

    python app.py            # or: cartsmith ui [--host 127.0.0.1] [--port 7860]
                             # (app.py at the repository root launches this module)

Left: the conversation. Right: the bundle as cards (name, price, the main reason and a
"Why this item" expander with every piece of evidence; the total and what changed since the
previous bundle), an "Add to cart" button per card and one for the whole bundle, then the
cart. The session id lives in `gr.State`; "New conversation" deletes the old session.

The cards appear as soon as the composer has made the bundle, before the language model
writes the explanation (`Assistant.turn(..., on_bundle=...)`); the text follows when the turn ends.
Every title, price and reason is HTML-escaped before it is rendered.
"""

from __future__ import annotations

import html
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

OFFLINE_ENVIRONMENT = (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("ANONYMIZED_TELEMETRY", "False"),
                       ("GRADIO_ANALYTICS_ENABLED", "False"), ("TOKENIZERS_PARALLELISM", "false"))
for _key, _value in OFFLINE_ENVIRONMENT:
    os.environ.setdefault(_key, _value)

import gradio as gr  # noqa: E402

from assistant.dialogue.session import SessionNotFound  # noqa: E402
from retrieval.errors import CartsmithError  # noqa: E402

log = logging.getLogger("cartsmith.ui")

MAX_CARDS = 10
THINKING = "…"
WELCOME = ("Hi! Tell me what you're shopping for — an item you like or an occasion, e.g. "
           "*a bundle for a tea party under £20* — and I'll put a bundle together from this shop.")
CSS = """
.cs-card {border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 10px 12px;}
.cs-card h4 {margin: 0 0 4px 0; font-size: 1rem;}
.cs-price {font-weight: 700; color: var(--color-accent);}
.cs-role {font-size: .75rem; text-transform: uppercase; opacity: .7; margin-left: 6px;}
.cs-reason {margin: 4px 0; font-size: .9rem;}
.cs-why summary {cursor: pointer; font-size: .85rem;}
.cs-why li {font-size: .85rem;}
.cs-summary {font-size: .95rem;}
.cs-total {font-size: 1.1rem; font-weight: 700;}
.cs-cart table {width: 100%; border-collapse: collapse; font-size: .9rem;}
.cs-cart td {padding: 2px 4px;}
.cs-muted {opacity: .7;}
"""


# ------------------------------------------------------------------------------------------
# rendering (pure functions of the records' dicts)
# ------------------------------------------------------------------------------------------
def money(value: float | None) -> str:
    return "price n/a" if value is None else f"£{value:,.2f}"


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def quantity_prefix(item: dict[str, Any]) -> str:
    quantity = int(item.get("quantity") or 1)
    return f"{quantity} × " if quantity > 1 else ""


def price_line(item: dict[str, Any]) -> str:
    """"£3.75", or "£3.75 each · £22.50" for a line of several units."""
    quantity = int(item.get("quantity") or 1)
    if quantity == 1 or item.get("price") is None:
        return money(item.get("price"))
    return f"{money(item.get('price'))} each · {money(item.get('line_total'))}"


def render_card(item: dict[str, Any], n: int) -> str:
    reasons = item.get("reasons") or []
    evidence = item.get("evidence") or [{"kind": "", "text": r} for r in reasons]
    why = "".join(f"<li>{esc(e.get('text', ''))}"
                  + (f" <span class='cs-muted'>({esc(str(e.get('kind', '')).replace('_', ' '))})</span>"
                     if e.get("kind") else "") + "</li>" for e in evidence)
    role = "your pick" if item.get("role") == "anchor" else ""
    if item.get("locked"):
        role = (role + " · kept").strip(" ·")
    return (
        f"<div class='cs-card' data-item-id='{esc(item.get('item_id', ''))}'>"
        f"<h4>{n}. {esc(quantity_prefix(item))}{esc(item.get('title', ''))}"
        + (f"<span class='cs-role'>{esc(role)}</span>" if role else "") + "</h4>"
        f"<div class='cs-price'>{esc(price_line(item))}</div>"
        + (f"<p class='cs-reason'>{esc(reasons[0])}</p>" if reasons else "")
        + (f"<details class='cs-why'><summary>Why this item</summary><ul>{why}</ul></details>" if why else "")
        + "</div>"
    )


def render_summary(bundle: dict[str, Any] | None, previous: dict[str, Any] | None) -> str:
    if not bundle or not bundle.get("items"):
        return "<div class='cs-summary cs-muted'>No bundle yet.</div>"
    parts = [f"<div class='cs-total'>Bundle total: {esc(money(bundle.get('total')))}</div>"]
    facts = [f"{len(bundle['items'])} items"]
    if bundle.get("need"):
        facts.append(f"for {esc(bundle['need'])}")
    if bundle.get("budget"):
        facts.append(f"budget {esc(money(bundle['budget']))}")
    parts.append(f"<div class='cs-muted'>{' · '.join(facts)}</div>")
    diff = bundle.get("diff") or {}
    changes = []
    if diff.get("added"):
        changes.append("added " + ", ".join(esc(t) for t in diff["added"]))
    if diff.get("removed"):
        changes.append("removed " + ", ".join(esc(t) for t in diff["removed"]))
    if diff.get("total_before") is not None and (changes or diff["total_before"] != bundle.get("total")):
        changes.append(f"total {esc(money(diff['total_before']))} → {esc(money(bundle.get('total')))}")
    if not changes and previous and previous.get("items"):
        before = [i["item_id"] for i in previous["items"]]
        if before != [i["item_id"] for i in bundle["items"]]:
            changes.append(f"a new bundle (the previous one was {esc(money(previous.get('total')))})")
    if changes:
        parts.append(f"<div class='cs-changes'><b>What changed:</b> {'; '.join(changes)}</div>")
    return "<div class='cs-summary'>" + "".join(parts) + "</div>"


def render_cart(lines: Sequence[Any]) -> str:
    rows = [line.to_dict() if hasattr(line, "to_dict") else dict(line) for line in lines]
    if not rows:
        return "<div class='cs-cart cs-muted'>Your cart is empty.</div>"
    total = round(sum((r["price"] or 0.0) * r["quantity"] for r in rows), 2)
    body = "".join(f"<tr><td>{r['quantity']} ×</td><td>{esc(r['title'])}</td>"
                   f"<td style='text-align:right'>{esc(money((r['price'] or 0.0) * r['quantity']))}</td></tr>"
                   for r in rows)
    count = sum(r["quantity"] for r in rows)
    return (f"<div class='cs-cart'><table>{body}</table>"
            f"<div class='cs-total'>Cart total: {esc(money(total))}</div>"
            f"<div class='cs-muted'>{count} item{'s' if count != 1 else ''}</div></div>")


def cart_choices(lines: Sequence[Any]) -> list[tuple[str, str]]:
    return [(f"{line.title} ({line.quantity})", line.item_id) for line in lines]


# ------------------------------------------------------------------------------------------
# the UI
# ------------------------------------------------------------------------------------------
def build_ui(assistant: Any) -> gr.Blocks:
    """The whole UI over one Assistant (shared by every browser session; it serialises the model)."""

    def ensure_session(session_id: str | None) -> str:
        if session_id:
            try:
                assistant.state(session_id)
                return session_id
            except SessionNotFound:
                pass
        return assistant.open_session()

    with gr.Blocks(title="cartsmith", analytics_enabled=False) as demo:
        session = gr.State(None)
        history = gr.State([])
        bundle_state = gr.State(None)
        gr.Markdown("## cartsmith — bundles from this shop's catalog, with the reasons behind them")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=360):
                chatbot = gr.Chatbot(value=[{"role": "assistant", "content": WELCOME}], label="Conversation",
                                     height=480, elem_id="cs-chat", feedback_options=None,
                                     buttons=["copy", "copy_all"])
                with gr.Row():
                    box = gr.Textbox(placeholder="e.g. a bundle for a tea party under £20", show_label=False,
                                     scale=5, max_lines=4, elem_id="cs-input", autofocus=True)
                    send = gr.Button("Send", variant="primary", scale=1, min_width=80, elem_id="cs-send")
                new = gr.Button("New conversation (deletes this one)", size="sm", elem_id="cs-new")
            with gr.Column(scale=2, min_width=300):
                summary = gr.HTML(render_summary(None, None), elem_id="cs-summary")
                add_all = gr.Button("Add the whole bundle to cart", visible=False, size="sm", elem_id="cs-add-all")
                groups, cards, buttons = [], [], []
                for i in range(MAX_CARDS):
                    with gr.Group(visible=False, elem_id=f"cs-slot-{i}") as group:
                        card = gr.HTML(elem_id=f"cs-card-{i}")
                        button = gr.Button("Add to cart", size="sm", elem_id=f"cs-add-{i}")
                    groups.append(group)
                    cards.append(card)
                    buttons.append(button)
                gr.Markdown("### Cart")
                cart_html = gr.HTML(render_cart([]), elem_id="cs-cart")
                with gr.Row():
                    remove_choice = gr.Dropdown(choices=[], label="Remove from cart", scale=3, elem_id="cs-remove-pick")
                    remove = gr.Button("Remove", size="sm", scale=1, elem_id="cs-remove")
                status = gr.Markdown("", elem_id="cs-status")

        def bundle_updates(bundle: dict[str, Any] | None, previous: dict[str, Any] | None) -> list[Any]:
            items = (bundle or {}).get("items") or []
            out: list[Any] = [render_summary(bundle, previous), gr.update(visible=bool(items))]
            out += [gr.update(visible=i < len(items)) for i in range(MAX_CARDS)]
            out += [render_card(items[i], i + 1) if i < len(items) else "" for i in range(MAX_CARDS)]
            return out

        turn_outputs = [chatbot, history, box, send, session, bundle_state, summary, add_all, *groups, *cards,
                        cart_html, remove_choice]
        no_bundle_change = [gr.skip()] * (2 + 2 * MAX_CARDS)

        def respond(text: str, chat: list[dict[str, Any]], session_id: str | None,
                    previous: dict[str, Any] | None) -> Iterator[list[Any]]:
            chat = list(chat or [])
            if not (text or "").strip():
                yield [gr.skip()] * len(turn_outputs)
                return
            sid = ensure_session(session_id)
            kept: str | None = sid
            chat += [{"role": "user", "content": text}, {"role": "assistant", "content": THINKING}]
            shown = [{"role": "assistant", "content": WELCOME}, *chat]
            yield [shown, chat, gr.update(value="", interactive=False), gr.update(interactive=False), sid, gr.skip(), *no_bundle_change,
                   gr.skip(), gr.skip()]

            events: queue.Queue[tuple[str, Any]] = queue.Queue()

            def work() -> None:
                try:
                    events.put(("reply", assistant.turn(sid, text,
                                                  on_bundle=lambda b: events.put(("bundle", b)),
                                                  on_text=lambda piece: events.put(("text", piece)))))
                except Exception as exc:
                    events.put(("error", exc))

            threading.Thread(target=work, name="cartsmith-ui-turn", daemon=True).start()
            written = ""
            while True:
                kind, value = events.get()
                if kind == "text":  # checked lines as they are released
                    written += value
                    chat[-1] = {"role": "assistant", "content": written.rstrip("\n")}
                    shown = [{"role": "assistant", "content": WELCOME}, *chat]
                    yield [shown, chat, gr.skip(), gr.skip(), sid, gr.skip(), *no_bundle_change, gr.skip(), gr.skip()]
                    continue
                if kind == "bundle":  # cards first; the explanation is still being written
                    data = value.to_dict()
                    chat[-1] = {"role": "assistant", "content": "Here's a bundle — writing up why…"}
                    shown = [{"role": "assistant", "content": WELCOME}, *chat]
                    yield [shown, chat, gr.skip(), gr.skip(), sid, data, *bundle_updates(data, previous),
                           gr.skip(), gr.skip()]
                    continue
                if kind == "reply":
                    reply = value
                    chat[-1] = {"role": "assistant", "content": reply.text}
                    data = reply.bundle.to_dict() if reply.bundle else None
                    bundle_part = bundle_updates(data, previous) if data else no_bundle_change
                    cart = [render_cart(reply.cart), gr.update(choices=cart_choices(reply.cart), value=None)]
                    new_bundle = data if data else gr.skip()
                else:
                    exc = value
                    if isinstance(exc, SessionNotFound):
                        message, kept = "That conversation was deleted; I started a new one. Please ask again.", None
                    elif isinstance(exc, CartsmithError):
                        message = f"⚠️ {exc}"
                    else:
                        log.error("turn failed: %s", type(exc).__name__)
                        message = "⚠️ Sorry, something went wrong on my side. Please try again."
                    chat[-1] = {"role": "assistant", "content": message}
                    bundle_part, cart, new_bundle = no_bundle_change, [gr.skip(), gr.skip()], gr.skip()
                shown = [{"role": "assistant", "content": WELCOME}, *chat]
                yield [shown, chat, gr.update(interactive=True), gr.update(interactive=True), kept, new_bundle, *bundle_part,
                       *cart]
                return

        for trigger in (send.click, box.submit):
            trigger(respond, inputs=[box, history, session, bundle_state], outputs=turn_outputs,
                    show_progress="hidden", api_visibility="private")

        def cart_result(session_id: str, lines: Sequence[Any], note: str) -> list[Any]:
            return [render_cart(lines), gr.update(choices=cart_choices(lines), value=None), note, session_id]

        cart_outputs = [cart_html, remove_choice, status, session]

        def add_items(session_id: str | None, bundle: dict[str, Any] | None, slot: int | None) -> list[Any]:
            items = (bundle or {}).get("items") or []
            chosen = items if slot is None else items[slot:slot + 1]
            if not chosen:
                return [gr.skip(), gr.skip(), "Ask for a bundle first.", gr.skip()]
            session_id = ensure_session(session_id)
            try:
                lines = None
                for item in chosen:
                    lines = assistant.add_to_cart(session_id, item["item_id"], int(item.get("quantity") or 1))
            except CartsmithError as exc:
                return [gr.skip(), gr.skip(), f"⚠️ {esc(exc)}", session_id]
            names = ", ".join(item["title"] for item in chosen) if len(chosen) < 3 else f"{len(chosen)} items"
            return cart_result(session_id, lines or (), f"Added {esc(names)} to the cart.")

        def make_add(slot: int) -> Callable[..., list[Any]]:
            def add_one(session_id: str | None, bundle: dict[str, Any] | None) -> list[Any]:
                return add_items(session_id, bundle, slot)
            return add_one

        for slot, button in enumerate(buttons):
            button.click(make_add(slot), inputs=[session, bundle_state], outputs=cart_outputs,
                         show_progress="hidden", api_visibility="private")
        add_all.click(lambda s, b: add_items(s, b, None), inputs=[session, bundle_state], outputs=cart_outputs,
                      show_progress="hidden", api_visibility="private")

        def remove_item(session_id: str | None, item_id: str | None) -> list[Any]:
            if not session_id or not item_id:
                return [gr.skip(), gr.skip(), "Pick an item in the cart first.", gr.skip()]
            try:
                lines = assistant.remove_from_cart(session_id, item_id)
            except CartsmithError as exc:
                return [gr.skip(), gr.skip(), f"⚠️ {esc(exc)}", gr.skip()]
            return cart_result(session_id, lines, "Removed from the cart.")

        remove.click(remove_item, inputs=[session, remove_choice], outputs=cart_outputs,
                     show_progress="hidden", api_visibility="private")

        def start_over(session_id: str | None) -> list[Any]:
            if session_id:
                assistant.delete_session(session_id)
            return [[{"role": "assistant", "content": WELCOME}], [], None, None, *bundle_updates(None, None),
                    render_cart([]), gr.update(choices=[], value=None), "Started over: the old conversation is deleted."]

        reset_outputs = [chatbot, history, session, bundle_state, summary, add_all, *groups, *cards, cart_html,
                         remove_choice, status]
        new.click(start_over, inputs=[session], outputs=reset_outputs, api_visibility="private")
        chatbot.clear(start_over, inputs=[session], outputs=reset_outputs, api_visibility="private")
    return demo


def launch(demo: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, *, block: bool = True) -> Any:
    """Start the server (blocking unless block=False, then returns the app; stop with demo.close())."""
    return demo.queue(default_concurrency_limit=4).launch(
        server_name=host, server_port=port, css=CSS, ssr_mode=False, mcp_server=False, pwa=False,
        show_error=False, quiet=not block, prevent_thread_lock=not block, footer_links=[])


def main() -> None:
    from assistant.dialogue.service import Assistant, AssistantConfig

    host = os.environ.get("CARTSMITH_HOST", "127.0.0.1")
    port = int(os.environ.get("CARTSMITH_PORT", "7860"))
    from assistant.dialogue.session_pg import forgotten_customers_in
    from retrieval.shop_index import ensure_default_index

    index_dir = os.environ.get("CARTSMITH_INDEX") or str(
        ensure_default_index(print, leave_out_users=forgotten_customers_in()))
    print("loading the assistant (index and language model)...", flush=True)
    assistant = Assistant(AssistantConfig(index=index_dir))
    launch(build_ui(assistant), host, port)
