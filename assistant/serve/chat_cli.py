"""The conversational commands of `cartsmith`: chat, ask, serve, ui.

Only argparse is imported at module level, so `cartsmith --help` stays instant; the
Assistant (5-10 s to load: index + language model) is built inside each command.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

COMMANDS = ("chat", "ask", "serve", "ui")


def add_parsers(sub: Any) -> None:
    """Add the four subcommands to `cartsmith`'s subparsers."""
    p_chat = sub.add_parser("chat", help="talk to the assistant in the terminal (/cart, /add N, /new, /quit)")
    _add_assistant_args(p_chat)
    p_chat.add_argument("--session", help="continue a saved session")

    p_ask = sub.add_parser("ask", help="one turn: print the reply, the bundle and its total")
    p_ask.add_argument("message", help="what the shopper says")
    p_ask.add_argument("--session", help="continue this session (its id is printed to stderr)")
    p_ask.add_argument("--json", action="store_true", help="print the whole reply as JSON")
    _add_assistant_args(p_ask)

    p_serve = sub.add_parser("serve", help="run the HTTP API (OpenAPI docs at /docs)")
    p_serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    p_serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p_serve.add_argument("--api-key", action="append", default=[], metavar="KEY",
                         help="require this key (Bearer or X-API-Key); repeatable; also $CARTSMITH_API_KEYS "
                              "(comma-separated)")
    p_serve.add_argument("--rate-limit", type=int, default=60, metavar="N",
                         help="requests per minute per key or client IP (default 60; 0 = off)")
    p_serve.add_argument("--public-key", action="append", default=[], metavar="KEY",
                         help="a key for the shop's own web pages: it can only chat and fill a cart; "
                              "repeatable; also $CARTSMITH_PUBLIC_KEYS (comma-separated); needs --api-key")
    p_serve.add_argument("--public-rate-limit", type=int, default=20, metavar="N",
                         help="requests per minute per client address with a public key (default 20; 0 = off)")
    p_serve.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                         help="an origin whose pages may call the API from a browser, e.g. "
                              "https://shop.example; repeatable; also $CARTSMITH_CORS_ORIGINS (none by default)")
    p_serve.add_argument("--webhook-url", metavar="URL",
                         help="send each checkout's order here, signed with HMAC-SHA256 using the secret in "
                              "$CARTSMITH_WEBHOOK_SECRET (docs: assistant/serve/webhooks.py)")
    p_serve.add_argument("--workers", type=int, default=1, metavar="N",
                         help="server processes on this port (default 1); each loads the assistant and "
                              "they share the session store (the SQLite file, or --sessions postgresql://...)")
    _add_assistant_args(p_serve)

    p_ui = sub.add_parser("ui", help="run the Gradio web UI")
    p_ui.add_argument("--host", default=None, help="interface (default $CARTSMITH_HOST or 127.0.0.1)")
    p_ui.add_argument("--port", type=int, default=None, help="port (default $CARTSMITH_PORT or 7860)")
    _add_assistant_args(p_ui)


def _add_assistant_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", type=Path, help="index folder (default: the default shop's)")
    parser.add_argument("--sessions", metavar="FILE_OR_URL",
                        help="session database: a SQLite file (default: in the cache folder) or a "
                             "postgresql://user@host/db URL that several servers share")
    parser.add_argument("--session-idle-minutes", type=float, default=None, metavar="M",
                        help="a session with no turn for M minutes expires and is purged (default 1440, "
                             "a day; 0 = never)")
    parser.add_argument("--writer", choices=("model", "template"), default=None,
                        help="who words bundles: the tuned model (default) or the deterministic template")
    parser.add_argument("--remote-model", metavar="URL",
                        help="send the model's parse and write calls to this OpenAI-compatible server "
                             "(e.g. http://127.0.0.1:8080/v1, llama.cpp or vLLM; docs/REMOTE_MODEL.md) "
                             "instead of loading the model here")
    parser.add_argument("--remote-model-name", metavar="NAME",
                        help="the model name to ask that server for (default cartsmith)")
    parser.add_argument("--remote-api-key-env", metavar="VAR",
                        help="environment variable that holds that server's API key")
    parser.add_argument("--remote-structured-output", choices=("json_schema", "json_object"), default=None,
                        help="how that server takes a JSON schema: json_schema (llama.cpp's llama-server, "
                             "vLLM; default) or json_object (llama-cpp-python's server)")


def run(args: argparse.Namespace) -> int:
    return {"chat": cmd_chat, "ask": cmd_ask, "serve": cmd_serve, "ui": cmd_ui}[args.command](args)


def build_assistant(args: argparse.Namespace) -> Any:
    from assistant.dialogue.service import Assistant, AssistantConfig

    values: dict[str, Any] = {}
    if getattr(args, "index", None):
        values["index"] = str(args.index)
    if getattr(args, "sessions", None):
        values["sessions"] = str(args.sessions)
    if getattr(args, "writer", None):
        values["writer"] = args.writer
    if getattr(args, "threads", None):
        values["threads"] = args.threads
    if getattr(args, "session_idle_minutes", None) is not None:
        values["session_idle_minutes"] = args.session_idle_minutes
    for flag in ("remote_model", "remote_model_name", "remote_api_key_env", "remote_structured_output"):
        if getattr(args, flag, None):
            values[flag] = getattr(args, flag)
    return Assistant(AssistantConfig(**values))


# ------------------------------------------------------------------------------------------
# printing
# ------------------------------------------------------------------------------------------
def money(value: float | None) -> str:
    return "price n/a" if value is None else f"£{value:,.2f}"


def format_reply(reply: Any) -> str:
    """The reply text, then the bundle (numbered items, prices, one reason each) and its total."""
    lines = [reply.text.rstrip()]
    bundle = reply.bundle
    if bundle is not None and bundle.items:
        lines.append("")
        lines.append("Bundle:")
        for n, bi in enumerate(bundle.items, start=1):
            lock = " (kept)" if bi.locked else ""
            count = f"{bi.quantity} × " if bi.quantity > 1 else ""
            each = " each" if bi.quantity > 1 else ""
            lines.append(f"  {n}. {count}{bi.item.title} [{bi.item.item_id}]  {money(bi.item.price)}{each}{lock}")
            if bi.reasons:
                lines.append(f"       why: {bi.reasons[0].text}")
        total = f"  Total: {money(bundle.total)}"
        if bundle.budget:
            total += f" (budget {money(bundle.budget)})"
        lines.append(total)
        diff = bundle.diff
        if not diff.empty:
            change = []
            if diff.added:
                change.append("added " + ", ".join(diff.added))
            if diff.removed:
                change.append("removed " + ", ".join(diff.removed))
            if diff.total_before is not None:
                change.append(f"total was {money(diff.total_before)}")
            lines.append("  Changed: " + "; ".join(change))
    if getattr(reply, "alternatives", ()):
        lines.append("Alternatives: " + "; ".join(f"{it.title} {money(it.price)}" for it in reply.alternatives))
    return "\n".join(lines)


def format_cart(lines: Any) -> str:
    lines = list(lines)
    if not lines:
        return "Your cart is empty."
    out = ["Cart:"]
    total = 0.0
    for line in lines:
        cost = (line.price or 0.0) * line.quantity
        total += cost
        out.append(f"  {line.quantity} x {line.title} [{line.item_id}]  {money(cost)}")
    out.append(f"  Total: {money(round(total, 2))}")
    return "\n".join(out)


# ------------------------------------------------------------------------------------------
# commands
# ------------------------------------------------------------------------------------------
def cmd_ask(args: argparse.Namespace) -> int:
    assistant = build_assistant(args)
    session_id = args.session or assistant.open_session()
    print(f"session: {session_id}", file=sys.stderr)
    reply = assistant.turn(session_id, args.message)
    if args.json:
        print(json.dumps({**reply.to_dict(), "session_id": session_id}, ensure_ascii=False, indent=2))
    else:
        print(format_reply(reply))
    return 0


CHAT_HELP = """Commands: /cart (show the cart), /add N|all (put bundle item N, or all, in the cart),
/remove ITEM_ID, /new (start over), /session (print the session id), /help, /quit"""


def cmd_chat(args: argparse.Namespace, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    from retrieval.errors import CartsmithError

    stdin = stdin or sys.stdin
    out = stdout or sys.stdout

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    say("Loading the assistant (index and language model)...")
    assistant = build_assistant(args)
    session_id = args.session or assistant.open_session()
    if args.session:
        assistant.state(session_id)  # fail early on an unknown id
    bundle = None
    say("Tell me what you're shopping for, e.g. 'a gift set for a tea lover under £20'.")
    say(CHAT_HELP)
    interactive = stdin.isatty()
    while True:
        if interactive:
            try:
                text = input("you> ")
            except EOFError:
                say()
                break
        else:
            raw = stdin.readline()
            if not raw:
                break
            text = raw.rstrip("\n")
        text = text.strip()
        if not text:
            continue
        command, _, rest = text.partition(" ")
        try:
            if command in ("/quit", "/exit", "/q"):
                break
            if command == "/help":
                say(CHAT_HELP)
            elif command == "/session":
                say(f"session: {session_id}")
            elif command == "/cart":
                say(format_cart(assistant.cart(session_id)))
            elif command == "/new":
                assistant.delete_session(session_id)
                session_id, bundle = assistant.open_session(), None
                say("Started over: the old conversation and cart are deleted.")
            elif command == "/add":
                targets = _pick_items(bundle, rest.strip())
                for item_id in targets:
                    assistant.add_to_cart(session_id, item_id)
                say(format_cart(assistant.cart(session_id)) if targets else "Nothing to add: ask for a bundle first.")
            elif command == "/remove":
                say(format_cart(assistant.remove_from_cart(session_id, rest.strip())))
            elif command.startswith("/"):
                say(f"unknown command {command}; {CHAT_HELP}")
            else:
                reply = assistant.turn(session_id, text)
                if reply.bundle is not None:
                    bundle = reply.bundle
                say("cartsmith> " + format_reply(reply).replace("\n", "\n           "))
        except CartsmithError as exc:
            say(f"(!) {exc}")
    say(f"Bye. Your session id is {session_id} (continue with --session).")
    return 0


def _pick_items(bundle: Any, which: str) -> list[str]:
    from retrieval.errors import ConfigError

    if bundle is None or not bundle.items:
        return []
    if which in ("", "all"):
        return list(bundle.item_ids)
    if not which.isdigit() or not 1 <= int(which) <= len(bundle.items):
        raise ConfigError(f"/add takes a bundle item number 1-{len(bundle.items)} or 'all'")
    return [bundle.items[int(which) - 1].item.item_id]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def ready_index(args: argparse.Namespace) -> None:
    """Before serving: the default shop's index is built on first use (as `make run` does); a
    named index that is missing or stale stops the command with what to run
    (`IndexStateError`, exit 2), instead of a server that answers every request with an error."""
    from retrieval.errors import IndexStateError
    from retrieval.shop_index import INDEX_FORMAT, ensure_default_index, read_manifest

    if not getattr(args, "index", None):
        from assistant.dialogue.session_pg import forgotten_customers_in

        ensure_default_index(lambda line: print(line, file=sys.stderr, flush=True),
                             leave_out_users=forgotten_customers_in(getattr(args, "sessions", None)))
        return
    manifest = read_manifest(Path(args.index))
    if manifest is None:
        raise IndexStateError(f"no index in {args.index}; build one with `cartsmith index --out {args.index}` "
                              "(or leave --index out to serve the default shop)")
    if manifest.get("format") != INDEX_FORMAT:
        raise IndexStateError(f"{args.index}: index format {manifest.get('format')} is not {INDEX_FORMAT}; "
                              f"rebuild it with `cartsmith index --out {args.index}`")


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    import uvicorn

    from assistant.serve.api import create_app
    from assistant.serve.memory import tune_malloc
    from retrieval.errors import ConfigError

    tune_malloc()  # before the model's and the server's threads start (memory.py)
    if not 0 < args.port < 65536:
        raise ConfigError(f"--port must be between 1 and 65535, got {args.port}")
    if args.rate_limit < 0:
        raise ConfigError(f"--rate-limit must be 0 or more, got {args.rate_limit}")
    if args.public_rate_limit < 0:
        raise ConfigError(f"--public-rate-limit must be 0 or more, got {args.public_rate_limit}")
    keys = list(args.api_key) + _listed_in_env("CARTSMITH_API_KEYS")
    web = _web_access(args)
    web.check_against(keys)  # a bad origin or a public key without a private one: exit 2 before loading
    webhook = _webhook(args)  # a bad URL or a missing secret: exit 2 before loading
    if not keys and not _is_loopback(args.host):
        print(f"cartsmith: warning: serving on {args.host} without API keys: anyone who can reach it can use it "
              "(pass --api-key)", file=sys.stderr)
    if not 1 <= args.workers <= 64:
        raise ConfigError(f"--workers must be between 1 and 64, got {args.workers}")
    logging.getLogger("cartsmith.api").setLevel(logging.INFO)
    ready_index(args)
    print(f"cartsmith API on http://{args.host}:{args.port} (docs at /docs); loading the assistant"
          f"{f' in {args.workers} processes' if args.workers > 1 else ''}...", file=sys.stderr)
    # uvicorn's access log prints full paths (session ids); the app logs route templates instead.
    options: dict[str, Any] = {"host": args.host, "port": args.port, "access_log": False, "log_level": "info",
                               "server_header": False, "timeout_graceful_shutdown": 5}
    if args.workers > 1:
        from assistant.llm.config import default_threads

        # Each worker is a separate process with its own model: they split the cores between them.
        args.threads = max(1, default_threads() // args.workers)
        os.environ[_WORKER_ARGS_ENV] = json.dumps({**vars(args), "func": None, "keys": keys},
                                                  default=str)
        uvicorn.run("assistant.serve.chat_cli:worker_app", factory=True, workers=args.workers, **options)
        return 0
    app = create_app(lambda: build_assistant(args), api_keys=keys, rate_limit_per_minute=args.rate_limit or None,
                     web=web, webhook=webhook)
    uvicorn.run(app, **options)
    return 0


def _listed_in_env(name: str) -> list[str]:
    return [value.strip() for value in os.environ.get(name, "").split(",") if value.strip()]


def _web_access(args: argparse.Namespace) -> Any:
    from assistant.serve.web_access import WebAccess

    return WebAccess.of(list(args.public_key) + _listed_in_env("CARTSMITH_PUBLIC_KEYS"),
                        list(args.cors_origin) + _listed_in_env("CARTSMITH_CORS_ORIGINS"),
                        args.public_rate_limit or None, os.environ.get("CARTSMITH_SHOPPER_TOKEN_SECRET", ""))


def _webhook(args: argparse.Namespace) -> Any:
    """The webhook config of --webhook-url (its secret from the environment), or None."""
    if not getattr(args, "webhook_url", None):
        return None
    from assistant.serve.webhooks import WebhookConfig

    return WebhookConfig(url=args.webhook_url, secret=os.environ.get("CARTSMITH_WEBHOOK_SECRET", ""))


_WORKER_ARGS_ENV = "CARTSMITH_SERVE_ARGS"


def worker_app() -> Any:
    """The app of one `serve --workers N` process (uvicorn imports it by name in each worker);
    the parent's arguments come through the environment."""
    from assistant.serve.api import create_app

    values = json.loads(os.environ[_WORKER_ARGS_ENV])
    keys = values.pop("keys")
    args = argparse.Namespace(**values)
    return create_app(lambda: build_assistant(args), api_keys=keys, rate_limit_per_minute=args.rate_limit or None,
                      web=_web_access(args), webhook=_webhook(args))


def cmd_ui(args: argparse.Namespace) -> int:
    from retrieval.errors import ConfigError

    host = args.host or os.environ.get("CARTSMITH_HOST", "127.0.0.1")
    try:
        port = args.port or int(os.environ.get("CARTSMITH_PORT", "7860"))
    except ValueError:
        raise ConfigError("CARTSMITH_PORT must be a port number") from None
    if not 0 < port < 65536:
        raise ConfigError(f"--port must be between 1 and 65535, got {port}")
    from assistant.serve import ui

    print("loading the assistant (index and language model)...", file=sys.stderr)
    assistant = build_assistant(args)
    ui.launch(ui.build_ui(assistant), host=host, port=port)
    return 0
