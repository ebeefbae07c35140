"""ChatOpenAI for OpenAI and for OpenAI-compatible endpoints (llama.cpp's server, vLLM, LM Studio).

Imported only when the openai backend is used (it needs the ``llm`` extra's langchain-openai).
"""

from __future__ import annotations

from typing import Any

from langchain_openai import ChatOpenAI


class EndpointChatOpenAI(ChatOpenAI):
    """ChatOpenAI whose assistant turns always carry text: an assistant message that only calls tools is sent
    with ``"content": ""`` instead of ``null``, which llama.cpp's server refuses (its schema wants a string)."""

    def _get_request_payload(
        self, input_: Any, *, stop: list[str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        payload: dict[str, Any] = super()._get_request_payload(input_, stop=stop, **kwargs)
        for message in payload.get("messages", []):
            if message.get("role") == "assistant" and message.get("content") is None:
                message["content"] = ""
        return payload
