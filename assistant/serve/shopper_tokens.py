"""Shopper tokens: how a page with a public key may name a logged-in customer.

A public key is in every visitor's page, so it can never name a customer by id (anyone could
borrow that customer's history). Instead the shop's own backend, which knows who is logged
in, signs a short-lived token with a secret it shares with cartsmith
(`$CARTSMITH_SHOPPER_TOKEN_SECRET`), and the page passes the token:
`POST /v1/sessions {"shopper_token": "..."}`. The token is

    base64url(JSON {"sub": "<customer id>", "exp": <unix seconds>}) "." hex(HMAC-SHA256(secret, first part))

so any backend language can make one (`sign_shopper_token` is the reference). cartsmith
checks the signature and the expiry and takes the customer id from it; a bad or expired
token is refused with the reason.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from retrieval.errors import CartsmithError

MAX_TTL_S = 24 * 3600


class ShopperTokenError(CartsmithError):
    """A shopper token that is malformed, forged or expired (the message says which)."""


def _mac(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def sign_shopper_token(secret: str, customer_id: str, ttl_s: int = 3600, *, now: float | None = None) -> str:
    """What the shop's backend does for a logged-in customer (a token valid `ttl_s` seconds)."""
    if not 0 < ttl_s <= MAX_TTL_S:
        raise ValueError(f"ttl_s must be between 1 and {MAX_TTL_S} seconds, got {ttl_s}")
    claims = {"sub": str(customer_id), "exp": int((time.time() if now is None else now) + ttl_s)}
    payload = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode().rstrip("=")
    return f"{payload}.{_mac(secret, payload)}"


def customer_in(token: str, secret: str, *, now: float | None = None) -> str:
    """The customer id a valid token names; ShopperTokenError says what is wrong with it."""
    payload, _, mac = (token or "").partition(".")
    if not payload or not mac:
        raise ShopperTokenError("shopper_token: not a token (expected two parts joined by '.')")
    if not hmac.compare_digest(_mac(secret, payload), mac):
        raise ShopperTokenError("shopper_token: the signature does not match (signed with another secret, "
                                "or changed)")
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        customer, expires = str(claims["sub"]), int(claims["exp"])
    except (ValueError, KeyError, TypeError):
        raise ShopperTokenError("shopper_token: its claims are not {\"sub\": id, \"exp\": seconds}") from None
    if (time.time() if now is None else now) >= expires:
        raise ShopperTokenError("shopper_token: expired; the shop's backend signs a fresh one")
    if not customer or len(customer) > 128:
        raise ShopperTokenError("shopper_token: the customer id must be 1 to 128 characters")
    return customer
