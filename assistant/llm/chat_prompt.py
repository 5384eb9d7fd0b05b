"""A chat as prompt text: messages checked, then rendered by the tokenizer's own chat
template (ChatML when it has none). Decoding, scoring and training all build prompts here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from retrieval.errors import CartsmithError

Message = dict[str, str]

# Used only when a tokenizer has no chat template of its own.
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content']"
    " + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def _check_messages(messages: Sequence[Message]) -> None:
    if not messages:
        raise CartsmithError("messages: at least one message is needed")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("content"), str) or \
                message.get("role") not in ("system", "user", "assistant"):
            raise CartsmithError(
                f"messages[{i}]: expected {{'role': 'system'|'user'|'assistant', 'content': str}}, got {message!r}"
            )


def build_prompt(tokenizer: Any, messages: Sequence[Message], *, add_generation_prompt: bool = True) -> str:
    """The prompt text for messages, rendered by the tokenizer's chat template."""
    _check_messages(messages)
    template = None if getattr(tokenizer, "chat_template", None) else CHATML_TEMPLATE
    return tokenizer.apply_chat_template(
        list(messages), tokenize=False, add_generation_prompt=add_generation_prompt,
        chat_template=template,
    )
