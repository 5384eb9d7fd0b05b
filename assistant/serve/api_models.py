"""The HTTP API's request and response schemas (pydantic): what the OpenAPI spec shows."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MODEL_NAME = "cartsmith"


# ------------------------------------------------------------------------------------------
# Schemas
# ------------------------------------------------------------------------------------------
class CreateSession(BaseModel):
    user_id: str | None = Field(None, max_length=128, description="a shop customer id, to personalise "
                                "(a private key only)")
    shopper_token: str | None = Field(None, max_length=1024, description="a customer named by a token the "
                                      "shop's backend signed (any key; `shopper_tokens.py`)")


class SessionOut(BaseModel):
    session_id: str


class MessageIn(BaseModel):
    text: str = Field(description="the shopper's message")


class EvidenceOut(BaseModel):
    kind: str
    text: str
    numbers: dict[str, float] = {}


class BundleItemOut(BaseModel):
    item_id: str
    title: str
    price: float | None = Field(description="unit price")
    quantity: int = Field(1, description="units the bundle suggests (6 cups for six guests)")
    line_total: float = Field(0.0, description="quantity x unit price, computed by code")
    reasons: list[str]
    category: str = ""
    role: str = "complement"
    locked: bool = False
    evidence: list[EvidenceOut] = []


class BundleDiffOut(BaseModel):
    added: list[str] = []
    removed: list[str] = []
    total_before: float | None = None


class BundleOut(BaseModel):
    items: list[BundleItemOut]
    total: float
    need: str | None = None
    budget: float | None = None
    diff: BundleDiffOut = BundleDiffOut()
    tier: str | None = None


class CartLineOut(BaseModel):
    item_id: str
    title: str
    price: float | None
    quantity: int


class AlternativeOut(BaseModel):
    item_id: str
    title: str
    price: float | None


class MessageOut(BaseModel):
    session_id: str
    reply: str
    kind: str
    bundle: BundleOut | None
    total: float | None
    cart: list[CartLineOut]
    alternatives: list[AlternativeOut] = []
    request: dict[str, Any] | None = None
    timings: dict[str, float] = {}
    tokens_generated: int = 0
    prompt_tokens: int = 0
    writer: str = "template"
    read_by: str = Field("model", description='who read the message: "model" (the language model parsed it), '
                         '"words" (read from the words alone, without decoding), "guard" (answered before reading)')
    tiers: dict[str, BundleOut] = Field({}, description="the bundle at up to three prices, when asked for: "
                                        "budget, standard (the bundle itself), premium")


class CartIn(BaseModel):
    item_id: str = Field(min_length=1, max_length=128)
    quantity: int = Field(1, ge=1, le=999)


class CartOut(BaseModel):
    session_id: str
    cart: list[CartLineOut]
    total: float
    count: int


class OrderIn(BaseModel):
    item_ids: list[str] = Field(min_length=1, max_length=200)
    session_id: str | None = Field(None, max_length=128)


class OrderOut(BaseModel):
    recorded: bool
    items: int
    live_orders: int


class DeletedOut(BaseModel):
    session_id: str
    deleted: bool


class ForgottenOut(BaseModel):
    """What forgetting a customer removed."""

    customer_id: str
    purchases_in_profile: int = Field(description="baskets of theirs that no profile is built from any more")
    purchase_lines: int = Field(description="basket lines among them")
    sessions_deleted: int = Field(description="their conversations, deleted with their carts")
    left_out_of_next_index_build: bool = Field(description="the next `cartsmith index` (or the default shop's "
                                                           "next start) leaves their lines out")


class ErrorBody(BaseModel):
    type: str
    message: str
    field: str | None = None
    limit: int | None = None
    detail: list[dict[str, Any]] | None = None


class ErrorOut(BaseModel):
    error: ErrorBody


# Every /v1 route may answer these (documented, so clients and schema checks know them).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "a domain error (e.g. an unknown item), or a body that cannot be read"},
    401: {"model": ErrorOut, "description": "API keys are configured and no valid one was given"},
    403: {"model": ErrorOut, "description": "a public key outside what it may do (naming a customer, any route "
                                            "but chat and the cart), or a shopper token refused (the message says why)"},
    404: {"model": ErrorOut, "description": "no such session (it may have been deleted)"},
    413: {"model": ErrorOut, "description": "the message or the body is over its limit (`field`, `limit`)"},
    422: {"model": ErrorOut, "description": "an invalid body, an empty message or a spent session (`field`, `limit`)"},
    429: {"model": ErrorOut, "description": "over the requests per minute of this key; see Retry-After"},
    500: {"model": ErrorOut, "description": "an unexpected error; the request was not completed"},
}


class HealthOut(BaseModel):
    status: Literal["ok", "loading", "error"]
    ready: bool


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str = Field(max_length=32)
    content: str | list[ContentPart] | None = None


class ChatCompletionIn(BaseModel):
    model_config = ConfigDict(extra="allow")  # sampling fields: checked by `openai_compat.refuse_what_cannot_be_honoured`
    model: str = Field(MODEL_NAME, max_length=200)
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=1_000)
    stream: bool = False
    user: str | None = Field(None, max_length=256, description="keys a session per end user")


class ChatMessageOut(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int = 0
    message: ChatMessageOut
    finish_reason: str = "stop"


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class ChatCompletionOut(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage
    session_id: str
    kind: str
    bundle: BundleOut | None
    cart: list[CartLineOut]
