"""The Gradio chat: streaming answers with linked citations, and a side panel that shows how each answer was
made (evidence, tool calls, verification, reasoning, protein and drug pictures) with Markdown/JSON export."""

from __future__ import annotations

import atexit
import logging
import math
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bioagent.api import ADMET_COLUMNS
from bioagent.errors import BioagentError
from bioagent.settings import Settings
from bioagent.types import Answer

from . import render
from .session import INDEX_NAMES, ChatSession, Choice, SharedResources, TurnUpdate, run_turn
from .visuals import Visuals, build_visuals

logger = logging.getLogger(__name__)

EXAMPLES = [
    "Do mitochondria play a role in remodelling lace plant leaves during programmed cell death?",
    "What is the function of TP53?",
    "Which regions of BRCA1 are intrinsically disordered?",
    "What are the ADMET properties of imatinib?",
    "Is this molecule drug-like? CC(=O)Oc1ccccc1C(=O)O",
    "What protein is this, and what are its properties?\n>insulin\nMALWMRLLPLLALLALWGPDPAAAFVNQHLCGSHLVEALYLVCGERGFF"
    "YTPKTRREAEDLQVGQVELGGGPGAGSLQPLALEGSLQKRGIVEQCCTSICSLYQLENYCN",
]
HEADER = (
    "## bioagent\nAsk about proteins, drugs or the literature. Paste a **FASTA / raw protein sequence** or a "
    "**SMILES** and it is recognised. Every claim cites its evidence; the panel on the right shows how the "
    "answer was made."
)
PLACEHOLDER = (
    "Ask a biomedical question. Citations link to PubMed and UniProt; hover a citation for its snippet."
)
CSS = """
#chat .message { word-break: break-word; }
#chat pre, #chat pre code { white-space: pre-wrap; word-break: break-all; }
#chat pre { padding-right: 2.5em; }
a.cite { font-size: 0.85em; font-weight: 600; color: var(--link-text-color); text-decoration: underline;
  position: relative; }
a.cite[title]:hover::after, a.cite[title]:focus::after { content: attr(title); position: absolute;
  left: 0; top: 1.4em; z-index: 50; width: min(26em, 70vw); padding: 6px 8px; border-radius: 6px;
  background: var(--background-fill-primary); color: var(--body-text-color); font-weight: 400;
  border: 1px solid var(--border-color-primary); box-shadow: 0 2px 8px rgba(0, 0, 0, 0.2); white-space: normal; }
#chat .message-wrap, #chat .message, #chat .bubble-wrap { overflow: visible; }
.evidence-item:target { outline: 2px solid var(--color-accent); }
#tool-calls table { table-layout: fixed; width: 100%; font-size: 0.85em; }
#tool-calls td, #tool-calls th { word-break: break-word; white-space: normal; vertical-align: top; }
#tool-calls code { word-break: break-all; white-space: normal; }
#tool-calls th:nth-child(1) { width: 27%; } #tool-calls th:nth-child(2) { width: 28%; }
#tool-calls th:nth-child(4) { width: 4.5em; } #tool-calls td:nth-child(4) { white-space: nowrap; }
#picker input { text-overflow: ellipsis; overflow: hidden; white-space: nowrap; padding-right: 2em; }
#notice p { margin: 0; color: var(--body-text-color-subdued); }
@media (max-width: 640px) {
  #main-row, #input-row { flex-direction: column; }
  #main-row > *, #input-row > * { width: 100%; min-width: 0 !important; }
}
.source-card, .evidence-item { border: 1px solid var(--border-color-primary); border-radius: 6px;
  padding: 4px 8px; margin: 4px 0; }
.source-card summary, .evidence-item summary { cursor: pointer; }
.evidence-item .meta { color: var(--body-text-color-subdued); font-size: 0.85em; }
.evidence-item .snippet, .source-card p { font-size: 0.9em; margin: 4px 0; }
.badge.cited { background: var(--color-accent-soft); border-radius: 4px; padding: 0 4px; font-size: 0.8em; }
#evidence-list { max-height: 440px; overflow-y: auto; }
#structure svg { max-width: 100%; height: auto; }
#admet table { font-size: 0.85em; }
"""
AGENT_GROUP = "agent"
"""The one concurrency group of everything that runs the agent or its tools (shared models and caches)."""
API_NAME = "answer"
"""The chat's one documented API endpoint (:meth:`ChatApp.answer`)."""
INTERNAL = "undocumented"
"""The page's own events: left off the API page, still callable by the page and by tests that drive it like a
browser."""


@dataclass(frozen=True)
class ChatLimits:
    """What one chat server takes on: queue, question size and rate, uploads, exports kept on disk."""

    queue_size: int = 64
    """Questions waiting server-wide (one runs at a time); beyond it Gradio answers 'queue is full'."""
    questions_per_minute: int = 10
    """Per conversation: about one question every six seconds, far above a person's reading pace."""
    question_chars: int = 20_000
    """Longest question: a 5,000-residue protein (settings.tools.max_sequence_length) as FASTA fits."""
    upload_size: str = "1mb"
    """Gradio's upload route (the chat itself takes no files)."""
    exports_kept: int = 200
    """Export files kept on disk (Markdown + JSON per shown answer); the oldest go first."""
    export_bytes: int = 50_000_000
    """Total size of the export files kept on disk."""


class ExportFolder:
    """The chat's downloads in a private folder (mode 0700) made once per server process, removed at exit, and
    bounded: beyond ``max_files`` files or ``max_bytes`` bytes the oldest are deleted."""

    def __init__(self, max_files: int, max_bytes: int) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="bioagent-chat-"))
        atexit.register(shutil.rmtree, self.path, ignore_errors=True)
        self.max_files, self.max_bytes = max_files, max_bytes
        self._lock = threading.Lock()

    def write(self, session_id: str, files: dict[str, str]) -> list[Path]:
        """Write ``files`` (name -> text) for one session (readable by this user only); their paths."""
        with self._lock:
            folder = self.path / session_id
            folder.mkdir(mode=0o700, exist_ok=True)
            paths = [_write_private(folder / name, text) for name, text in files.items()]
            self._prune(keep=set(paths))
        return paths

    def _prune(self, keep: set[Path]) -> None:
        """Delete the oldest files (never those in ``keep``) until the folder is within its bounds."""
        files = sorted(self.path.glob("*/*"), key=lambda f: f.stat().st_mtime_ns)
        sizes = {f: f.stat().st_size for f in files}
        count, total = len(files), sum(sizes.values())
        for old in files:
            if count <= self.max_files and total <= self.max_bytes:
                break
            if old in keep:
                continue
            old.unlink()
            count, total = count - 1, total - sizes[old]
            if not any(old.parent.iterdir()):
                old.parent.rmdir()


def _private_gradio_cache() -> None:
    """Gradio's file cache in a private folder of this process instead of the shared /tmp/gradio (unless
    GRADIO_TEMP_DIR names one), removed at exit."""
    if "GRADIO_TEMP_DIR" not in os.environ:
        folder = tempfile.mkdtemp(prefix="bioagent-gradio-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        os.environ["GRADIO_TEMP_DIR"] = folder


def _write_private(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` with mode 0600, never through a symlink."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(os.open(path, flags, 0o600), "w", encoding="utf-8") as stream:
        stream.write(text)
    return path


class ChatApp:
    """The Blocks layout and its event handlers over one :class:`SharedResources`. ``link_hosts`` adds hosts
    that shown text may link to (besides PubMed, UniProt and doi.org)."""

    def __init__(
        self, resources: SharedResources, limits: ChatLimits | None = None, link_hosts: Sequence[str] = ()
    ) -> None:
        self.resources = resources
        self.limits = limits or ChatLimits()
        self.hosts = (*render.LINK_HOSTS, *link_hosts)
        self.exports = ExportFolder(self.limits.exports_kept, self.limits.export_bytes)
        self.c: dict[str, Any] = {}

    # ----- layout --------------------------------------------------------------------------------------

    def build(self) -> Any:
        gr = _gradio()
        with gr.Blocks(title="bioagent", analytics_enabled=False) as demo:
            session = gr.State(new_session)  # called per browser session: each gets its own conversation
            gr.Markdown(HEADER)
            with gr.Row(equal_height=False, elem_id="main-row"):
                with gr.Column(scale=3):
                    self._chat_column(gr)
                with gr.Column(scale=2, elem_id="side-panel"):
                    self._side_panel(gr)
            self._wire(gr, session)
        _keep_off_the_api_page(demo)
        demo.queue(max_size=self.limits.queue_size, default_concurrency_limit=1)
        return demo

    def _chat_column(self, gr: Any) -> None:
        c = self.c
        c["chatbot"] = gr.Chatbot(
            elem_id="chat",
            show_label=False,
            height=640,
            placeholder=PLACEHOLDER,
            buttons=["copy"],
            feedback_options=None,
        )
        with gr.Row(elem_id="input-row"):
            c["message"] = gr.Textbox(
                placeholder="Question, FASTA or SMILES… (Enter asks, Shift+Enter adds a line)",
                lines=1,  # one line to start (grows to max_lines): Enter submits, Shift+Enter adds a line
                max_lines=12,
                max_length=self.limits.question_chars,
                show_label=False,
                scale=6,
                elem_id="question",
            )
            c["send"] = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
            c["stop"] = gr.Button("Stop", variant="stop", scale=1, elem_id="stop", visible=False)
        c["notice"] = gr.Markdown(elem_id="notice")
        c["new"] = gr.Button("New conversation", size="sm", variant="secondary", elem_id="new-conversation")
        gr.Examples(EXAMPLES, inputs=[c["message"]], label="Example questions (work on the demo indexes)")
        self._settings_box(gr)

    def _settings_box(self, gr: Any) -> None:
        c, default = self.c, self.resources.default_choice()
        available = self.resources.available_indexes()
        missing = [n for n in INDEX_NAMES if n not in available]
        with gr.Accordion("Settings", open=False):
            c["indexes"] = gr.CheckboxGroup(
                choices=list(available), value=list(default.indexes), label="Indexes to search"
            )
            c["backend"] = gr.Dropdown(
                choices=self.resources.backends(), value=default.backend, label="LLM backend"
            )
            c["k"] = gr.Slider(1, 20, value=default.k, step=1, label="Literature passages per question (k)")
            c["live"] = gr.Checkbox(
                value=default.live,
                label="Search PubMed and UniProt live when the local evidence is weak (adds what they return to "
                "the local indexes)",
            )
            if missing:
                gr.Markdown(
                    f"Not built: {', '.join(missing)} — run `bioagent demo build` (or set the index paths in the "
                    "settings) and restart."
                )

    def _side_panel(self, gr: Any) -> None:
        c = self.c
        gr.Markdown("### How this answer was made")
        c["picker"] = gr.Dropdown(
            label="Answer",
            choices=[],
            interactive=True,
            allow_custom_value=True,  # a pick can race New conversation: show_answer skips a stale one
            elem_id="picker",
        )
        c["summary"] = gr.Markdown(elem_id="summary")
        with gr.Tab("Evidence"):
            c["evidence"] = gr.HTML("<i>Ask a question to see its evidence.</i>", elem_id="evidence-panel")
        with gr.Tab("Tool calls"):
            c["tools"] = gr.Markdown(elem_id="tool-calls")
        with gr.Tab("Verification"):
            c["verdicts"] = gr.Markdown(elem_id="verdicts")
        with gr.Accordion("Reasoning (step by step)", open=False):
            c["reasoning"] = gr.Markdown(elem_id="reasoning")
        with gr.Accordion("Protein", visible=False) as c["protein_box"]:
            c["plot"] = gr.Image(
                type="pil", interactive=False, show_label=False, buttons=[], elem_id="disorder-plot"
            )
        with gr.Accordion("Drug", visible=False) as c["drug_box"]:
            c["structure"] = gr.HTML(elem_id="structure")
            c["admet"] = gr.Dataframe(
                headers=ADMET_COLUMNS,
                label="ADMET-AI predictions",
                max_height=320,
                wrap=True,
                column_widths=["38%", "16%", "24%", "22%"],
                elem_id="admet",
            )
        c["visual_notes"] = gr.Markdown()
        with gr.Row():
            c["export_md"] = gr.DownloadButton("Export Markdown", visible=False, size="sm")
            c["export_json"] = gr.DownloadButton("Export JSON", visible=False, size="sm")

    def _wire(self, gr: Any, session: Any) -> None:
        """Ask (button or Enter) shows Stop while the question runs; Stop and New conversation cancel it and
        any pending answer pick, so nothing of a cancelled or cleared turn comes back."""
        c = self.c
        inputs = [c["message"], c["chatbot"], session, c["backend"], c["indexes"], c["k"], c["live"]]
        outputs = [c[name] for name in self._output_names()]
        buttons = [c["send"], c["stop"]]
        run = gr.on(
            [c["send"].click, c["message"].submit], self.busy_buttons, None, buttons, queue=False
        ).then(  # one group: one question at a time
            self.ask,
            inputs,
            outputs,
            concurrency_id=AGENT_GROUP,
            concurrency_limit=1,
            show_progress="hidden",
        )
        run.then(self.idle_buttons, None, buttons, queue=False)
        pick = c["picker"].input(
            self.show_answer, [c["picker"], session], outputs, concurrency_id=AGENT_GROUP, concurrency_limit=1
        )
        c["stop"].click(self.idle_buttons, None, buttons, cancels=[run], queue=False)
        gr.on(
            [c["new"].click, c["chatbot"].clear],
            self.new_conversation,
            [session],
            outputs + buttons,
            cancels=[run, pick],
        )
        gr.api(self.answer, api_name=API_NAME, concurrency_id=AGENT_GROUP, concurrency_limit=1)

    @staticmethod
    def _output_names() -> list[str]:
        return [
            "chatbot", "message", "notice", "picker", "summary", "evidence", "tools", "verdicts", "reasoning",
            "protein_box", "plot", "drug_box", "structure", "admet", "visual_notes", "export_md", "export_json",
        ]  # fmt: skip

    def busy_buttons(self) -> dict[Any, Any]:
        """While a question runs: Ask disabled, Stop shown."""
        gr = _gradio()
        return {
            self.c["send"]: gr.update(interactive=False, value="Asking…"),
            self.c["stop"]: gr.update(visible=True),
        }

    def idle_buttons(self) -> dict[Any, Any]:
        """No question running: Ask enabled, Stop hidden."""
        gr = _gradio()
        return {
            self.c["send"]: gr.update(interactive=True, value="Ask"),
            self.c["stop"]: gr.update(visible=False),
        }

    # ----- handlers ------------------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        history: list[Any],
        session: ChatSession,
        backend: str,
        indexes: list[str],
        k: float,
        live: bool = False,
    ) -> Iterator[dict[Any, Any]]:
        """Stream one answer into the chat, then fill the side panel. Errors become chat messages; empty or too
        long questions and too many questions in a minute a notice under the box (the chat is left as it is)."""
        history = list(history or [])
        question = (question or "").strip()
        refusal = self._refusal(question, session)
        if refusal:
            yield {self.c["notice"]: refusal}
            return
        choice = Choice(backend, tuple(n for n in INDEX_NAMES if n in (indexes or [])), int(k), bool(live))
        try:
            yield from self._ask(question, history, session, choice)
        except Exception as exc:  # a bug here must not leave a dead page
            logger.exception("the chat handler failed")
            failure = render.inert_text(f"{type(exc).__name__}: {exc}", self.hosts)
            history.append({"role": "assistant", "content": f"⚠ Something went wrong: {failure}"})
            yield {self.c["chatbot"]: history}

    def answer(self, question: str, backend: str = "", k: int = 0, live: bool = False) -> dict[str, Any]:
        """Answer one question (a fresh conversation) as JSON: ``answer`` (the text, citations inline),
        ``citations`` (id, url, snippet), ``tool_calls`` (name, arguments, ok, error, seconds), ``notes``,
        ``model``, ``abstained``. ``backend`` (one of the chat's backends) and ``k`` (1-20 literature passages)
        default to the server's settings when empty or 0; ``live`` also searches PubMed and UniProt live when
        the local evidence is weak."""
        gr = _gradio()
        question = (question or "").strip()
        default = self.resources.default_choice()
        refusal = self._api_refusal(question, backend, k)
        if refusal:
            raise gr.Error(refusal)
        choice = Choice(
            backend or default.backend, default.indexes, int(k) or default.k, live or default.live
        )
        *_, final = run_turn(self.resources, ChatSession(), question, choice)  # the last update is the answer
        if final.answer is None:
            raise gr.Error(final.error or "the agent gave no answer")
        return api_answer(final.answer)

    def _api_refusal(self, question: str, backend: str, k: int) -> str | None:
        """Why an ``answer`` call is not run (empty or too long question, unknown backend, k out of range)."""
        if not question:
            return "the question is empty"
        if len(question) > self.limits.question_chars:
            return f"the question is {len(question):,} characters long; the limit is {self.limits.question_chars:,}"
        if backend and backend not in self.resources.backends():
            return f"backend must be one of {', '.join(self.resources.backends())}, not '{backend}'"
        if k and not 1 <= k <= 20:
            return f"k must be between 1 and 20, not {k}"
        return None

    def _refusal(self, question: str, session: ChatSession) -> str | None:
        """Why ``question`` is not run (empty, too long, too many in a minute), or None."""
        limits = self.limits
        if not question:
            return "⚠ Please type a question first."
        if len(question) > limits.question_chars:
            return (
                f"⚠ The question is {len(question):,} characters long; the limit is "
                f"{limits.question_chars:,}. Please shorten it."
            )
        wait = session.admit(limits.questions_per_minute)
        if wait:
            return (
                f"⚠ Too many questions: at most {limits.questions_per_minute} a minute in one conversation. "
                f"Please ask again in {math.ceil(wait)} s."
            )
        return None

    def _ask(
        self, question: str, history: list[Any], session: ChatSession, choice: Choice
    ) -> Iterator[dict[Any, Any]]:
        c, epoch = self.c, session.epoch
        steps = {
            "role": "assistant",
            "content": "Reading the question…",
            "metadata": {"title": "Working", "status": "pending"},
        }
        reply = {"role": "assistant", "content": "▌"}
        history += [{"role": "user", "content": render.user_markdown(question, self.hosts)}, steps, reply]
        yield {c["chatbot"]: history, c["message"]: "", c["notice"]: ""}
        final = TurnUpdate()
        for final in run_turn(self.resources, session, question, choice):
            if session.epoch != epoch:  # the conversation was cleared meanwhile: show nothing of this turn
                return
            recognised = [render.plain_html(line) for line in final.recognised]
            steps["content"] = "<br>".join(recognised + final.steps) or steps["content"]
            reply["content"] = self._reply_text(final)
            yield {c["chatbot"]: history}
        steps["metadata"] = {
            "title": "How it was answered",
            "status": "done",
            "duration": round(final.seconds, 1),
        }
        if final.answer is None:
            yield {c["chatbot"]: history}
            return
        number = len(session.answers)
        yield {
            c["chatbot"]: history,
            **self._panel(session, number),
            c["visual_notes"]: "_Drawing pictures…_",
        }
        visuals = self._visuals(session, number)
        if session.epoch == epoch:
            yield self._visual_updates(visuals)

    def show_answer(self, label: str, session: ChatSession) -> Any:
        """The side panel for the answer picked in the dropdown (nothing changes when the pick is stale)."""
        gr, epoch = _gradio(), session.epoch
        try:
            number = int(str(label).split(" ", 1)[0].lstrip("#"))
        except ValueError:
            return gr.skip()
        if not 1 <= number <= len(session.answers):
            return gr.skip()
        panel = {**self._panel(session, number), **self._visual_updates(self._visuals(session, number))}
        return panel if session.epoch == epoch else gr.skip()

    def new_conversation(self, session: ChatSession) -> dict[Any, Any]:
        """Everything the conversation owns back to empty: chat, answer picker, side panel, pictures, exports."""
        gr = _gradio()
        session.reset()
        c = self.c
        return {
            c["chatbot"]: [],
            c["notice"]: "",
            c["picker"]: gr.update(choices=[], value=None),
            c["summary"]: "",
            c["evidence"]: "<i>Ask a question to see its evidence.</i>",
            c["tools"]: "",
            c["verdicts"]: "",
            c["reasoning"]: "",
            **self._visual_updates(Visuals()),
            c["export_md"]: gr.update(visible=False, value=None),
            c["export_json"]: gr.update(visible=False, value=None),
            **self.idle_buttons(),
        }

    # ----- panel pieces --------------------------------------------------------------------------------

    def _reply_text(self, update: TurnUpdate) -> str:
        if update.error:
            return f"⚠ {render.inert_text(update.error, self.hosts)}"
        if update.answer is not None:
            return render.answer_markdown(update.answer, self.hosts)
        return render.streaming_markdown(update.draft, self.hosts) if update.draft else "▌"

    def _panel(self, session: ChatSession, number: int) -> dict[Any, Any]:
        gr = _gradio()
        answer = session.answers[number - 1]
        labels = [_answer_label(n, a.question) for n, a in enumerate(session.answers, start=1)]
        markdown_file, json_file = self.exports.write(
            session.id,
            {
                f"bioagent-answer-{number}.md": render.export_markdown(answer, self.hosts),
                f"bioagent-answer-{number}.json": render.export_json(answer),
            },
        )
        c = self.c
        return {
            c["picker"]: gr.update(choices=labels, value=labels[number - 1]),
            c["summary"]: render.summary_markdown(answer),
            c["evidence"]: render.evidence_html(answer, self.hosts),
            c["tools"]: render.tool_calls_markdown(answer),
            c["verdicts"]: render.verdicts_markdown(answer),
            c["reasoning"]: render.reasoning_markdown(answer),
            c["export_md"]: gr.update(value=str(markdown_file), visible=True),
            c["export_json"]: gr.update(value=str(json_file), visible=True),
        }

    def _visuals(self, session: ChatSession, number: int) -> Visuals:
        if number not in session.visuals:
            answer = session.answers[number - 1]
            settings = self.resources.settings
            session.visuals[number] = build_visuals(answer, settings, self.resources.sequence_of)
        return session.visuals[number]

    def _visual_updates(self, visuals: Visuals) -> dict[Any, Any]:
        gr = _gradio()
        import pandas as pd

        c = self.c
        return {
            c["protein_box"]: gr.update(
                visible=bool(visuals.protein), label=f"Predicted disorder (metapredict): {visuals.protein}"
            ),
            c["plot"]: visuals.disorder_plot,
            c["drug_box"]: gr.update(visible=bool(visuals.drug), label=f"Drug: {visuals.drug}"),
            c["structure"]: visuals.structure_svg,
            c["admet"]: pd.DataFrame(visuals.admet_rows, columns=ADMET_COLUMNS),
            c["visual_notes"]: "\n".join(f"- {render.plain_html(note)}" for note in visuals.notes),
        }


def new_session() -> ChatSession:
    """A fresh conversation (``gr.State`` calls this once per browser session)."""
    return ChatSession()


def api_answer(answer: Answer) -> dict[str, Any]:
    """The ``answer`` endpoint's JSON for one answer."""
    return {
        "question": answer.question,
        "answer": answer.text,
        "citations": [citation.model_dump(mode="json") for citation in answer.citations],
        "tool_calls": [
            {
                "name": call.name,
                "arguments": call.arguments,
                "ok": bool(call.result and call.result.ok),
                "error": call.result.error if call.result else "no result",
                "seconds": call.seconds,
            }
            for call in answer.tool_calls
        ],
        "notes": answer.notes,
        "model": answer.model,
        "abstained": answer.abstained,
    }


def _keep_off_the_api_page(demo: Any) -> None:
    """Make every public event but the ``answer`` endpoint internal (set here, after the layout is built:
    ``gr.State``'s per-session load event takes no visibility argument)."""
    for fn in demo.fns.values():
        if fn.api_visibility == "public" and fn.api_name != API_NAME:
            fn.api_visibility = INTERNAL


def _gradio() -> Any:
    """Gradio, imported when the app is built (a core dependency, heavy to import)."""
    import gradio

    return gradio


def _answer_label(number: int, question: str) -> str:
    text = " ".join(question.split())
    return f"#{number} {text[:60]}{'…' if len(text) > 60 else ''}"


def build_app(
    settings: Settings | None = None,
    resources: SharedResources | None = None,
    *,
    limits: ChatLimits | None = None,
    link_hosts: Sequence[str] = (),
) -> Any:
    """The chat as a ``gradio.Blocks`` with its queue set up (not launched). Pass ``resources`` to share or fake
    the agents."""
    resources = resources or SharedResources(settings or Settings.load())
    return ChatApp(resources, limits, link_hosts).build()


def launch(
    settings: Settings | None = None,
    *,
    resources: SharedResources | None = None,
    limits: ChatLimits | None = None,
    link_hosts: Sequence[str] = (),
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: tuple[str, str] | None = None,
    block: bool = True,
) -> Any:
    """Serve the chat on ``host:port`` (loopback unless told otherwise), with basic auth when given. The default
    agent is loaded first, so the first question is quick and a broken setup is reported in the console too.
    ``limits`` bounds the queue, questions, uploads and exports; ``link_hosts`` adds hosts that shown text may
    link to (default: the ``chat.link_domains`` setting); ``resources`` shares or fakes the agents."""
    _private_gradio_cache()
    gr = _gradio()
    limits = limits or ChatLimits()
    resources = resources or SharedResources(settings or Settings.load())
    try:
        resources.agent(resources.default_choice())
    except BioagentError as exc:  # still serve: the chat shows the same error on each question
        logger.warning("the chat starts, but the agent could not be loaded: %s", exc)
    link_hosts = tuple(link_hosts) or tuple(resources.settings.chat.link_domains)
    demo = build_app(resources=resources, limits=limits, link_hosts=link_hosts)
    theme = gr.themes.Soft(
        primary_hue="teal",
        font=["ui-sans-serif", "system-ui", "sans-serif"],
        font_mono=["ui-monospace", "monospace"],
    )
    demo.launch(
        server_name=host,
        server_port=port,
        auth=auth,
        share=False,
        inbrowser=False,
        max_file_size=limits.upload_size,
        prevent_thread_lock=not block,
        ssr_mode=False,
        footer_links=[],
        theme=theme,
        css=CSS,
        quiet=True,
    )
    return demo
