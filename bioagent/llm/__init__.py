"""Chat-model backends behind one factory: embedded llama.cpp, OpenAI-compatible, Ollama, transformers, fake.

``create_chat_model(settings.llm)`` returns a LangChain ``BaseChatModel``; ``check_chat_model`` probes
it and ``explain_llm_error`` turns backend exceptions into :class:`bioagent.errors.LLMError` naming the
setting to fix. The embedded SmolLM2-135M model follows prompt-based JSON tool calls only loosely: use the
rules planner with it and the tool-calling planner with capable models.
"""

from bioagent.llm.factory import create_chat_model, describe_model
from bioagent.llm.fake import ScriptedChatModel, load_script
from bioagent.llm.llamacpp import LlamaCppChatModel, smollm2_gguf_path
from bioagent.llm.local import LocalChatModel
from bioagent.llm.probe import check_chat_model, explain_llm_error

__all__ = [
    "LlamaCppChatModel",
    "LocalChatModel",
    "ScriptedChatModel",
    "check_chat_model",
    "create_chat_model",
    "describe_model",
    "explain_llm_error",
    "load_script",
    "smollm2_gguf_path",
]
