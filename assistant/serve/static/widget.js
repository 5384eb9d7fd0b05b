/* cartsmith chat widget: one <script> tag adds a shopping assistant to any page.
 *
 *   <script src="https://assistant.example/widget.js" data-api="https://assistant.example"
 *           data-key="pk_..." defer></script>
 *
 * Optional data-* attributes: title, greeting, placeholder, send, open-label, close-label,
 * add-label, add-all-label, color, text-color, currency (ISO 4217, default GBP), locale.
 * Adding to cart fires `cartsmith:add-to-cart` on document (detail: {items: [{item_id,
 * quantity, title, price}], session_id}) for the shop's own cart, and fills the assistant's
 * cart too. Plain JavaScript, no build step, no request to anyone but data-api. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || customElements.get("cartsmith-chat")) return;
  var d = script.dataset;
  var api = (d.api || new URL(script.src, location.href).origin).replace(/\/+$/, "");
  var cfg = {
    key: d.key || "",
    title: d.title || "Shopping assistant",
    greeting: d.greeting || "Hi! Tell me what you're shopping for - an occasion, a person, a budget - and I'll put a bundle together.",
    placeholder: d.placeholder || "e.g. a tea party for six, under £40",
    send: d.send || "Send",
    openLabel: d.openLabel || "Open the shopping assistant",
    closeLabel: d.closeLabel || "Close the shopping assistant",
    addLabel: d.addLabel || "Add to cart",
    addAllLabel: d.addAllLabel || "Add the whole bundle to cart",
    color: d.color || "#1d4f7c",
    textColor: d.textColor || "#ffffff",
    currency: d.currency || "GBP",
    locale: d.locale || document.documentElement.lang || "en-GB"
  };
  var money;
  try {
    money = new Intl.NumberFormat(cfg.locale, { style: "currency", currency: cfg.currency });
  } catch (e) {
    money = new Intl.NumberFormat("en-GB", { style: "currency", currency: "GBP" });
  }
  function price(v) { return v == null ? "" : money.format(v); }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text != null) node.textContent = text;
    return node;
  }
  function headers() {
    var h = { "Content-Type": "application/json" };
    if (cfg.key) h["X-API-Key"] = cfg.key;
    return h;
  }

  function colour(v, fallback) { return /^[#a-zA-Z0-9(),.% ]{1,40}$/.test(v) ? v : fallback; }
  var CSS = [
    ":host{all:initial;font:15px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1a1a1a;",
    "--c:" + colour(cfg.color, "#1d4f7c") + ";--t:" + colour(cfg.textColor, "#ffffff") + "}",
    "*{box-sizing:border-box}",
    ".launch{position:fixed;right:16px;bottom:16px;z-index:2147483000;border:0;border-radius:28px;padding:14px 20px;",
    "background:var(--c);color:var(--t);font:inherit;font-weight:600;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25)}",
    ".launch:focus-visible,button:focus-visible,input:focus-visible{outline:3px solid #f5a623;outline-offset:2px}",
    ".panel{position:fixed;right:16px;bottom:16px;z-index:2147483001;width:min(400px,calc(100vw - 16px));",
    "height:min(620px,calc(100vh - 32px));display:flex;flex-direction:column;background:#fff;border-radius:14px;",
    "box-shadow:0 8px 30px rgba(0,0,0,.3);overflow:hidden}",
    ".panel[hidden],.launch[hidden]{display:none}",
    "header{display:flex;align-items:center;justify-content:space-between;padding:10px 14px;background:var(--c);color:var(--t)}",
    "h2{font-size:16px;margin:0}",
    ".close{background:transparent;border:0;color:var(--t);font-size:22px;line-height:1;cursor:pointer;min-width:44px;min-height:44px}",
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:10px;background:#f6f7f9}",
    ".msg{max-width:90%;padding:8px 12px;border-radius:12px;white-space:pre-wrap;word-wrap:break-word}",
    ".me{align-self:flex-end;background:var(--c);color:var(--t)}",
    ".bot{align-self:flex-start;background:#fff;border:1px solid #d5d9de}",
    ".err{align-self:flex-start;background:#fdecea;border:1px solid #b3261e;color:#5f1410}",
    ".cards{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:8px;align-self:stretch}",
    ".card{background:#fff;border:1px solid #d5d9de;border-radius:10px;padding:10px}",
    ".card h3{font-size:14px;margin:0 0 4px}",
    ".meta{font-weight:600;margin:0 0 4px}",
    ".why{margin:0 0 8px;color:#3c434a;font-size:13px}",
    ".add,.all{border:1px solid var(--c);background:#fff;color:var(--c);border-radius:8px;padding:8px 12px;font:inherit;",
    "font-weight:600;cursor:pointer;min-height:44px}",
    ".all{background:var(--c);color:var(--t);align-self:stretch}",
    ".add[aria-disabled=true],.all[aria-disabled=true]{opacity:.75;cursor:default}",
    "form{display:flex;gap:8px;padding:10px;border-top:1px solid #d5d9de;background:#fff}",
    "input{flex:1;min-width:0;font:inherit;padding:10px;border:1px solid #6b7580;border-radius:8px}",
    ".send{border:0;border-radius:8px;padding:0 16px;background:var(--c);color:var(--t);font:inherit;font-weight:600;",
    "cursor:pointer;min-height:44px}",
    ".send[disabled]{opacity:.6}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}"
  ].join("");

  class CartsmithChat extends HTMLElement {
    constructor() {
      super();
      this.sessionId = null;
      try { this.sessionId = sessionStorage.getItem("cartsmith-session"); } catch (e) { /* storage off */ }
      var root = this.attachShadow({ mode: "open" });
      var style = el("style", null, CSS);
      root.appendChild(style);
      this.launcher = el("button", { "class": "launch", type: "button", "aria-expanded": "false",
        "aria-controls": "cartsmith-panel", "aria-label": cfg.openLabel }, cfg.title);
      this.panel = el("section", { "class": "panel", id: "cartsmith-panel", role: "dialog",
        "aria-label": cfg.title, hidden: "" });
      var head = el("header");
      head.appendChild(el("h2", null, cfg.title));
      this.closer = el("button", { "class": "close", type: "button", "aria-label": cfg.closeLabel }, "\u00d7");
      head.appendChild(this.closer);
      this.log = el("div", { "class": "log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
        tabindex: "0", "aria-label": "Conversation" });
      this.form = el("form");
      var label = el("label", { "for": "cartsmith-input", "class": "sr" }, "Your message");
      this.input = el("input", { id: "cartsmith-input", type: "text", autocomplete: "off", maxlength: "2000",
        placeholder: cfg.placeholder });
      this.sendButton = el("button", { "class": "send", type: "submit" }, cfg.send);
      this.form.append(label, this.input, this.sendButton);
      this.panel.append(head, this.log, this.form);
      root.append(this.launcher, this.panel);
      this.say("bot", cfg.greeting);
      var self = this;
      this.launcher.addEventListener("click", function () { self.open(); });
      this.closer.addEventListener("click", function () { self.close(); });
      this.panel.addEventListener("keydown", function (e) { if (e.key === "Escape") self.close(); });
      this.form.addEventListener("submit", function (e) {
        e.preventDefault();
        var text = self.input.value.trim();
        if (text && !self.busy) self.ask(text);
      });
    }
    open() {
      this.panel.hidden = false;
      this.launcher.hidden = true;
      this.launcher.setAttribute("aria-expanded", "true");
      this.input.focus();
    }
    close() {
      this.panel.hidden = true;
      this.launcher.hidden = false;
      this.launcher.setAttribute("aria-expanded", "false");
      this.launcher.focus();
    }
    say(who, text) {
      var node = el("div", { "class": "msg " + who }, text);
      this.log.appendChild(node);
      this.log.scrollTop = this.log.scrollHeight;
      return node;
    }
    setBusy(busy) {
      this.busy = busy;
      this.sendButton.disabled = busy;
      this.log.setAttribute("aria-busy", busy ? "true" : "false");
    }
    async ask(text) {
      this.input.value = "";
      this.say("me", text);
      this.setBusy(true);
      var answer = null;
      var h = headers();
      if (this.sessionId) h["X-Session-Id"] = this.sessionId;
      try {
        var res = await fetch(api + "/v1/chat/completions", { method: "POST", headers: h,
          body: JSON.stringify({ model: "cartsmith", stream: true, messages: [{ role: "user", content: text }] }) });
        if (res.status === 404 && this.sessionId) {  // the conversation expired: start a new one
          this.remember(null);
          this.setBusy(false);
          return this.ask(text);
        }
        if (!res.ok || !res.body) {
          var body = await res.json().catch(function () { return {}; });
          throw new Error((body.error && body.error.message) || ("the assistant answered " + res.status));
        }
        var reader = res.body.getReader(), decoder = new TextDecoder(), buffer = "";
        for (;;) {
          var step = await reader.read();
          if (step.done) break;
          buffer += decoder.decode(step.value, { stream: true });
          var events = buffer.split("\n\n");
          buffer = events.pop();
          for (var i = 0; i < events.length; i++) {
            var line = events[i].trim();
            if (line.indexOf("data: ") !== 0) continue;
            var data = line.slice(6);
            if (data === "[DONE]") continue;
            var chunk = JSON.parse(data);
            if (chunk.session_id) this.remember(chunk.session_id);
            var choice = (chunk.choices || [])[0] || {};
            if (choice.finish_reason === "error") throw new Error((chunk.error && chunk.error.message) || "error");
            if (chunk.bundle && chunk.bundle.items && chunk.bundle.items.length) this.showBundle(chunk.bundle);
            var piece = choice.delta && choice.delta.content;
            if (piece) {
              if (!answer) answer = this.say("bot", "");
              answer.textContent += piece;
              this.log.scrollTop = this.log.scrollHeight;
            }
          }
        }
      } catch (err) {
        this.say("err", "Sorry - " + (err && err.message ? err.message : "something went wrong") + ".");
      } finally {
        this.setBusy(false);
      }
    }
    remember(id) {
      this.sessionId = id;
      try {
        if (id) sessionStorage.setItem("cartsmith-session", id); else sessionStorage.removeItem("cartsmith-session");
      } catch (e) { /* storage off */ }
    }
    showBundle(bundle) {
      var self = this;
      var list = el("ul", { "class": "cards", "aria-label": "Suggested bundle, total " + price(bundle.total) });
      var added = {};  // what this bundle already put in the cart: "the whole bundle" adds the rest
      bundle.items.forEach(function (item) {
        var card = el("li", { "class": "card" });
        card.appendChild(el("h3", null, item.title));
        var each = price(item.price);
        card.appendChild(el("p", { "class": "meta" }, item.quantity > 1
          ? item.quantity + " \u00d7 " + each + " = " + price(item.line_total) : each));
        var why = (item.reasons || [])[0];
        if (why) card.appendChild(el("p", { "class": "why" }, why));
        var add = el("button", { "class": "add", type: "button", "aria-label": cfg.addLabel + ": " + item.title },
          cfg.addLabel);
        add.addEventListener("click", function () {
          if (add.getAttribute("aria-disabled") === "true") return;
          added[item.item_id] = true;
          self.addToCart([item], [add]);
        });
        card.appendChild(add);
        list.appendChild(card);
      });
      var all = el("button", { "class": "all", type: "button" }, cfg.addAllLabel + " (" + price(bundle.total) + ")");
      all.addEventListener("click", function () {
        if (all.getAttribute("aria-disabled") === "true") return;
        var rest = bundle.items.filter(function (it) { return !added[it.item_id]; });
        rest.forEach(function (it) { added[it.item_id] = true; });
        self.addToCart(rest, [all].concat(Array.prototype.slice.call(list.querySelectorAll(".add"))));
      });
      this.log.append(list, all);
      this.log.scrollTop = this.log.scrollHeight;
    }
    async addToCart(items, buttons) {
      var lines = items.map(function (it) {
        return { item_id: it.item_id, quantity: it.quantity || 1, title: it.title, price: it.price };
      });
      document.dispatchEvent(new CustomEvent("cartsmith:add-to-cart", { bubbles: true,
        detail: { items: lines, session_id: this.sessionId } }));
      // marked, not disabled: a disabled button would drop the keyboard focus
      buttons.forEach(function (b) { b.setAttribute("aria-disabled", "true"); b.textContent = "Added \u2713"; });
      if (this.sessionId) {
        for (var i = 0; i < lines.length; i++) {
          await fetch(api + "/v1/sessions/" + encodeURIComponent(this.sessionId) + "/cart", { method: "POST",
            headers: headers(), body: JSON.stringify({ item_id: lines[i].item_id, quantity: lines[i].quantity }) })
            .catch(function () { /* the shop's own cart has it already */ });
        }
      }
      this.say("bot", lines.length === 1 ? "Added " + lines[0].title + " to your cart."
        : "Added " + lines.length + " items to your cart.");
    }
  }
  customElements.define("cartsmith-chat", CartsmithChat);
  function mount() { document.body.appendChild(document.createElement("cartsmith-chat")); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
