"""Checkers of what a scripted turn said and did: the reply's kind and intent, grounding,
refusals and clarifying questions, the cart, latency, rejected input, prompt leaks, words.

Grounding and prompt leaks are judged by the evals' own code (`evals.judge`) against the
catalog file and the template files, never by the product's detectors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from assistant.records import Bundle
from retrieval.records import Item

from .expect_base import CheckContext, Observation, Verdict, in_count, show_count
from .expect_bundle import bundle_items, matches, titles_of
from .judge import pairwise_differences, ungrounded


def no_reply_reason(obs: Observation) -> str:
    if obs.error:
        return f"no reply: the turn failed with {obs.error}"
    if obs.rejected:
        return f"no reply: the input was rejected ({obs.rejected.message})"
    return f"no reply on a {obs.action} turn"


def check_kind(value: tuple[str, ...], obs: Observation, ctx: CheckContext) -> Verdict:
    assert obs.reply is not None
    return obs.reply.kind in value, f"reply kind {obs.reply.kind}"


def check_intent(value: tuple[str, ...], obs: Observation, ctx: CheckContext) -> Verdict:
    assert obs.reply is not None
    request = obs.reply.request
    if request is None:
        return False, "no parsed request (the turn was not understood)"
    return request.intent in value, f"intent {request.intent}"


def grounding_problems(obs: Observation, ctx: CheckContext, allow: Iterable[str] = ()) -> list[str]:
    """Catalog titles and ids the reply names beyond what it may name, and amounts code did
    not render, judged against the catalog file (`ctx.catalog`).

    The reply may name the bundle's items, the items its "Changed:" line says were removed,
    the cart, the alternatives it offers and any item the script allows (e.g. the two items
    of a comparison). Amounts: those items' prices (the file's), the bundle total and the
    total before an edit and the cart total (summed here from the file's prices), the
    budget, and for answers the difference between two named items' prices.
    """
    reply = obs.reply
    assert reply is not None
    catalog = ctx.catalog
    bundle = reply.bundle
    ids = [it.item_id for it in bundle_items(obs)] + [it.item_id for it in reply.alternatives]
    ids += [line.item_id for line in reply.cart]
    ids += [entry.item_id for ref in allow for entry in catalog.resolve(ref)]
    problems = [f"item id {i} is not in the catalog file" for i in dict.fromkeys(ids) if i not in catalog.entries]
    named = [catalog.entries[i] for i in dict.fromkeys(ids) if i in catalog.entries]
    amounts: list[float | None] = [entry.price for entry in named]
    removed: tuple[str, ...] = ()
    if bundle is not None:
        removed = bundle.diff.removed
        amounts += [catalog.price_of_title(title) for title in removed]
        amounts += [catalog.cost(item_id, quantity) for item_id, quantity in lines_of(bundle)]
        amounts += [catalog.total(lines_of(bundle)), bundle.budget, _total_before(bundle, ctx)]
    if ctx.previous_bundle is not None:
        amounts.append(catalog.total(lines_of(ctx.previous_bundle)))
    if reply.request is not None:
        amounts.append(reply.request.budget)
    amounts.append(obs.constraints.get("budget"))
    cart = [(line.item_id, line.quantity) for line in reply.cart]
    amounts += [catalog.cost(item_id, quantity) for item_id, quantity in cart]
    if cart:
        amounts.append(catalog.total(cart))
    if reply.kind == "answer":
        amounts += pairwise_differences([entry.price for entry in named])
    return problems + ungrounded(reply.text, catalog, [entry.item_id for entry in named], removed, amounts)


def lines_of(bundle: Bundle) -> list[tuple[str, int]]:
    return [(bi.item.item_id, bi.quantity) for bi in bundle.items]


def _total_before(bundle: Bundle, ctx: CheckContext) -> float | None:
    """The total of the bundle the edit started from, rebuilt from its diff: the lines kept,
    and the removed ones priced by their titles in the file (at the quantity the previous
    bundle had them, else one)."""
    diff = bundle.diff
    if diff.empty:
        return None
    added = set(diff.added)
    kept = ctx.catalog.total([line for bi, line in zip(bundle.items, lines_of(bundle), strict=True)
                              if bi.item.title not in added])
    if kept is None:
        return None
    earlier = {bi.item.title: bi.quantity for bi in ctx.previous_bundle.items} if ctx.previous_bundle else {}
    removed = [(ctx.catalog.price_of_title(title) or 0.0) * earlier.get(title, 1) for title in diff.removed]
    return round(kept + sum(removed), 2)


def check_grounded(value: tuple[str, ...], obs: Observation, ctx: CheckContext) -> Verdict:
    problems = grounding_problems(obs, ctx, value)
    return not problems, f"not grounded: {'; '.join(problems[:5])}" if problems else "grounded"


def check_refusal(value: bool, obs: Observation, ctx: CheckContext) -> Verdict:
    assert obs.reply is not None
    if not value:
        return obs.reply.kind != "refusal", f"reply kind {obs.reply.kind}"
    if obs.reply.kind != "refusal":
        return False, f"reply kind {obs.reply.kind}, not a refusal"
    sneaked = ungrounded(obs.reply.text, ctx.catalog)
    return not sneaked, f"a refusal that still names {'; '.join(sneaked[:3])}" if sneaked else "a clean refusal"


def check_clarify(value: bool, obs: Observation, ctx: CheckContext) -> Verdict:
    assert obs.reply is not None
    asked = obs.reply.kind == "clarify" and bool(obs.reply.text.strip())
    return asked == value, f"reply kind {obs.reply.kind}"


def check_cart(value: Mapping[str, Any], obs: Observation, ctx: CheckContext) -> Verdict:
    lines = [Item(line.item_id, line.title, line.price) for line in obs.cart]
    problems = []
    if value["count"] is not None and not in_count(len(lines), value["count"]):
        problems.append(f"{len(lines)} line(s), expected {show_count(value['count'])}")
    problems += [f"missing {ref!r}" for ref in value["contains"] if not any(matches(ref, it) for it in lines)]
    problems += [f"holds {ref!r}" for ref in value["lacks"] if any(matches(ref, it) for it in lines)]
    if value["same_as_bundle"]:
        bundle = (obs.reply.bundle if obs.reply else None) or ctx.previous_bundle
        if bundle is None:
            problems.append("no bundle to compare with")
        elif {it.item_id for it in lines} != set(bundle.item_ids):
            problems.append("the cart is not the bundle")
    return not problems, "; ".join(problems) + f" (cart: {titles_of(lines)})" if problems else f"cart: {titles_of(lines)}"


def check_latency(value: float, obs: Observation, ctx: CheckContext) -> Verdict:
    return obs.latency_s <= value, f"{obs.latency_s:.2f} s, at most {value:g} s expected"


def check_rejected(value: Mapping[str, Any], obs: Observation, ctx: CheckContext) -> Verdict:
    rej = obs.rejected
    if not value["rejected"]:
        if rej is not None:
            return False, f"the input was rejected: {rej.message}"
        return obs.error is None, f"failed with {obs.error}" if obs.error else "accepted"
    if rej is None:
        return False, f"the input was accepted (reply kind {obs.reply.kind if obs.reply else 'none'})"
    problems = []
    if "field" in value and (rej.field != value["field"] or not rej.message.startswith(value["field"])):
        problems.append(f"field {rej.field!r}, expected {value['field']!r}")
    if "limit" in value and (rej.limit != value["limit"] or f"{value['limit']:,}" not in rej.message):
        problems.append(f"limit {rej.limit}, expected {value['limit']} named in the message")
    return not problems, "; ".join(problems) + f" ({rej.message})" if problems else f"rejected: {rej.message}"


def check_no_prompt_leak(value: bool, obs: Observation, ctx: CheckContext) -> Verdict:
    if obs.error:
        return False, no_reply_reason(obs)
    text = obs.reply.text if obs.reply else obs.rejected.message if obs.rejected else ""
    leaked = ctx.templates.leaks(text)
    return not leaked, f"prompt text in the reply: {leaked[0]!r}" if leaked else "no prompt text"


def _reply_text(obs: Observation) -> str:
    assert obs.reply is not None
    return obs.reply.text.lower()


def check_reply_contains(value: tuple[str, ...], obs: Observation, ctx: CheckContext) -> Verdict:
    missing = [v for v in value if v.lower() not in _reply_text(obs)]
    return not missing, f"the reply lacks {', '.join(map(repr, missing))}" if missing else "present"


def check_reply_lacks(value: tuple[str, ...], obs: Observation, ctx: CheckContext) -> Verdict:
    bad = [v for v in value if v.lower() in _reply_text(obs)]
    return not bad, f"the reply says {', '.join(map(repr, bad))}" if bad else "absent"
