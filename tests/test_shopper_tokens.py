"""A page with a public key names a logged-in customer only through a token the shop's
backend signed: a valid one opens that customer's session, a forged, changed, expired or
unsigned-for one is refused with the reason, and a bare customer id is still refused."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from assistant.dialogue.service import Assistant
from assistant.serve.api import create_app
from assistant.serve.shopper_tokens import ShopperTokenError, customer_in, sign_shopper_token
from assistant.serve.web_access import WebAccess
from retrieval.errors import ConfigError

SECRET = "the-shops-token-secret-01"
PRIVATE, PUBLIC = "server-secret-key", "pk_page_key"


def test_a_token_names_its_customer_until_it_expires() -> None:
    token = sign_shopper_token(SECRET, "12347", ttl_s=60)
    assert customer_in(token, SECRET) == "12347"
    with pytest.raises(ShopperTokenError, match="expired"):
        customer_in(token, SECRET, now=time.time() + 61)
    with pytest.raises(ShopperTokenError, match="signature"):
        customer_in(token, "another-secret-of-16+")
    _payload, mac = token.split(".")
    forged = sign_shopper_token("another-secret-of-16+", "12346").split(".")[0] + "." + mac
    with pytest.raises(ShopperTokenError, match="signature"):
        customer_in(forged, SECRET)
    with pytest.raises(ShopperTokenError, match="not a token"):
        customer_in("just-a-customer-id", SECRET)
    with pytest.raises(ValueError, match="ttl_s"):
        sign_shopper_token(SECRET, "12347", ttl_s=0)
    with pytest.raises(ConfigError, match="shopper_token_secret"):
        WebAccess.of(shopper_token_secret="short")


def test_a_page_opens_a_customers_session_with_a_signed_token(scripted_assistant: Assistant) -> None:
    page = {"X-API-Key": PUBLIC}
    web = WebAccess.of(public_keys=[PUBLIC], shopper_token_secret=SECRET)
    with TestClient(create_app(scripted_assistant, api_keys=[PRIVATE], rate_limit_per_minute=None, web=web)) as c:
        made = c.post("/v1/sessions", json={"shopper_token": sign_shopper_token(SECRET, "12347")}, headers=page)
        assert made.status_code == 201, made.text
        assert scripted_assistant.state(made.json()["session_id"]).user_id == "12347"
        assert c.post("/v1/sessions", json={"user_id": "12347"}, headers=page).status_code == 403
        expired = sign_shopper_token(SECRET, "12347", ttl_s=1, now=time.time() - 10)
        refused = c.post("/v1/sessions", json={"shopper_token": expired}, headers=page)
        assert refused.status_code == 403 and "expired" in refused.json()["error"]["message"]
        both = c.post("/v1/sessions", json={"user_id": "1", "shopper_token": expired}, headers={"X-API-Key": PRIVATE})
        assert both.status_code == 422
    no_secret = WebAccess.of(public_keys=[PUBLIC])
    with TestClient(create_app(scripted_assistant, api_keys=[PRIVATE], rate_limit_per_minute=None,
                               web=no_secret)) as c:
        refused = c.post("/v1/sessions", json={"shopper_token": sign_shopper_token(SECRET, "12347")}, headers=page)
        assert refused.status_code == 403 and "CARTSMITH_SHOPPER_TOKEN_SECRET" in refused.json()["error"]["message"]
