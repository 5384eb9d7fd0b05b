"""Who may call the API from a shop's own web pages: the origins (CORS) and the public keys.

A shop that embeds the assistant calls the API from its shoppers' browsers, on the shop's
origin. CORS lets the origins the shop lists read the API's answers (none by default, so a
browser on any other site gets no answer). The key written into the shop's page is public:
anyone can read it from the page's source. So a public key can only chat and fill a cart
(`PUBLIC_ROUTES`): it never names a customer (`user_id`: their purchase history and
profile), records an order, or deletes a session; and it is rate-limited per client
address, not per key, since every shopper of the shop shares it. The shop's own server keeps
the private keys (`--api-key`) for everything else.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from retrieval.errors import ConfigError

# (method, route) a public key may call: chat (the assistant's own API and the
# OpenAI-compatible one) and the session's cart.
PUBLIC_ROUTES = frozenset({
    ("POST", "/v1/sessions"),
    ("POST", "/v1/sessions/{session_id}/messages"),
    ("GET", "/v1/sessions/{session_id}/cart"),
    ("POST", "/v1/sessions/{session_id}/cart"),
    ("DELETE", "/v1/sessions/{session_id}/cart/{item_id}"),
    ("GET", "/v1/models"),
    ("POST", "/v1/chat/completions"),
})
# The headers a page's script sends: the key, the JSON body, the OpenAI session header.
CORS_HEADERS = ("Authorization", "X-API-Key", "Content-Type", "X-Session-Id")
CORS_METHODS = ("GET", "POST", "DELETE")
_ORIGIN = re.compile(r"^https?://[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?$")
PUBLIC_PREFIX = "public:"


@dataclasses.dataclass(frozen=True)
class WebAccess:
    """public_keys: keys a shop may write into its pages (chat and cart only).
    cors_origins: the shop's origins ("https://shop.example", scheme and host, a port if not
        the default; no path), whose pages may call the API from a browser.
    public_rate_limit_per_minute: requests a minute per client address with a public key
        (0 or None: no limit).
    shopper_token_secret: the secret the shop's backend signs shopper tokens with
        (`shopper_tokens.py`); empty: tokens are refused."""

    public_keys: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    public_rate_limit_per_minute: int | None = 20
    shopper_token_secret: str = dataclasses.field(default="", repr=False)

    def __post_init__(self) -> None:
        if self.shopper_token_secret and len(self.shopper_token_secret) < 16:
            raise ConfigError("shopper_token_secret: must be at least 16 characters")
        for n, key in enumerate(self.public_keys):
            if not isinstance(key, str) or not key.strip() or key != key.strip():
                raise ConfigError(f"public_keys[{n}]: a key is a non-empty string without spaces around it")
        for n, origin in enumerate(self.cors_origins):
            if origin == "*":
                raise ConfigError(f"cors_origins[{n}]: '*' would let any site use the shop's keys from a "
                                  "shopper's browser; list the shop's own origins, e.g. https://shop.example")
            if not isinstance(origin, str) or not _ORIGIN.match(origin.lower()):
                raise ConfigError(f"cors_origins[{n}]: {origin!r} is not an origin; write the scheme and host "
                                  "(and a port), with no path or trailing slash, e.g. https://shop.example")
        limit = self.public_rate_limit_per_minute
        if limit is not None and limit < 0:
            raise ConfigError(f"public_rate_limit_per_minute: must be 0 or more, got {limit}")

    @classmethod
    def of(cls, public_keys: Iterable[str] = (), cors_origins: Iterable[str] = (),
           public_rate_limit_per_minute: int | None = 20, shopper_token_secret: str = "") -> WebAccess:
        return cls(tuple(public_keys), tuple(o.rstrip("/") if o != "*" else o for o in cors_origins),
                   public_rate_limit_per_minute, shopper_token_secret)

    def check_against(self, private_keys: Iterable[str]) -> None:
        """Public keys need private ones: without a private key every route is open to
        anyone, and a key that is both would give the page the shop's own rights."""
        private = set(private_keys)
        if self.public_keys and not private:
            raise ConfigError("public_keys: a public key needs at least one private API key (--api-key) "
                              "too; without one every route is open to anyone, key or not")
        both = [n for n, key in enumerate(self.public_keys) if key in private]
        if both:
            raise ConfigError(f"public_keys[{both[0]}]: the same key is also a private API key")


def is_public(identity: str) -> bool:
    """Was the request made with a public key (the guard's identity says so)?"""
    return identity.startswith(PUBLIC_PREFIX)
