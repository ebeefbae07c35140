"""The Gradio chat: streaming answers with linked citations, and a side panel that shows how each answer was
made (evidence, tool calls, verification, reasoning, protein and drug pictures) with Markdown/JSON export."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bioagent.errors import BioagentError
from bioagent.settings import Settings

from . import render
from .session import INDEX_NAMES, ChatSession, Choice, SharedResources, TurnUpdate, run_turn
from .visuals import ADMET_COLUMNS, Visuals, build_visuals

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
a.cite, span.cite { font-size: 0.85em; font-weight: 600; text-decoration: none; border-bottom: 1px dotted; }
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


class ChatApp:
    """The Blocks layout and its event handlers over one :class:`SharedResources`."""

    def __init__(self, resources: SharedResources) -> None:
        self.resources = resources
        self.c: dict[str, Any] = {}

    # ----- layout --------------------------------------------------------------------------------------

    def build(self) -> Any:
        gr = _gradio()
        with gr.Blocks(title="bioagent", analytics_enabled=False) as demo:
            session = gr.State(new_session)  # called per browser session: each gets its own conversation
            gr.Markdown(HEADER)
            with gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    self._chat_column(gr)
                with gr.Column(scale=2, elem_id="side-panel"):
                    self._side_panel(gr)
            self._wire(gr, session)
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
        with gr.Row():
            c["message"] = gr.Textbox(
                placeholder="Question, FASTA or SMILES… (Shift+Enter for a new line)",
                lines=2,
                max_lines=12,
                show_label=False,
                scale=6,
                elem_id="question",
            )
            c["send"] = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
        c["new"] = gr.Button("New conversation", size="sm", variant="secondary")
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
        c["picker"] = gr.Dropdown(label="Answer", choices=[], interactive=True)
        c["summary"] = gr.Markdown()
        with gr.Tab("Evidence"):
            c["evidence"] = gr.HTML("<i>Ask a question to see its evidence.</i>", elem_id="evidence-panel")
        with gr.Tab("Tool calls"):
            c["tools"] = gr.Markdown(elem_id="tool-calls")
        with gr.Tab("Verification"):
            c["verdicts"] = gr.Markdown(elem_id="verdicts")
        with gr.Accordion("Reasoning (step by step)", open=False):
            c["reasoning"] = gr.Markdown(elem_id="reasoning")
        with gr.Accordion("Protein", visible=False) as c["protein_box"]:
            c["plot"] = gr.Image(type="pil", interactive=False, show_label=False, elem_id="disorder-plot")
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
        c = self.c
        inputs = [c["message"], c["chatbot"], session, c["backend"], c["indexes"], c["k"], c["live"]]
        outputs = [c[name] for name in self._output_names()]
        for trigger in (c["send"].click, c["message"].submit):
            trigger(self.ask, inputs, outputs, concurrency_limit=1, show_progress="hidden")
        c["picker"].input(self.show_answer, [c["picker"], session], outputs)
        c["new"].click(self.new_conversation, [session], outputs)
        c["chatbot"].clear(self.new_conversation, [session], outputs)

    @staticmethod
    def _output_names() -> list[str]:
        return [
            "chatbot", "message", "picker", "summary", "evidence", "tools", "verdicts", "reasoning",
            "protein_box", "plot", "drug_box", "structure", "admet", "visual_notes", "export_md", "export_json",
        ]  # fmt: skip

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
        """Stream one answer into the chat, then fill the side panel. Errors become chat messages."""
        history = list(history or [])
        question = (question or "").strip()
        if not question:
            history.append({"role": "assistant", "content": "Please type a question first."})
            yield {self.c["chatbot"]: history}
            return
        choice = Choice(backend, tuple(n for n in INDEX_NAMES if n in (indexes or [])), int(k), bool(live))
        try:
            yield from self._ask(question, history, session, choice)
        except Exception as exc:  # a bug here must not leave a dead page
            logger.exception("the chat handler failed")
            history.append(
                {"role": "assistant", "content": f"⚠ Something went wrong: {type(exc).__name__}: {exc}"}
            )
            yield {self.c["chatbot"]: history}

    def _ask(
        self, question: str, history: list[Any], session: ChatSession, choice: Choice
    ) -> Iterator[dict[Any, Any]]:
        c = self.c
        steps = {
            "role": "assistant",
            "content": "Reading the question…",
            "metadata": {"title": "Working", "status": "pending"},
        }
        reply = {"role": "assistant", "content": "▌"}
        history += [{"role": "user", "content": render.user_markdown(question)}, steps, reply]
        yield {c["chatbot"]: history, c["message"]: ""}
        final = TurnUpdate()
        for final in run_turn(self.resources, session, question, choice):
            steps["content"] = "<br>".join(final.recognised + final.steps) or steps["content"]
            reply["content"] = _reply_text(final)
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
        yield self._visual_updates(self._visuals(session, number))

    def show_answer(self, label: str, session: ChatSession) -> dict[Any, Any]:
        """The side panel for the answer picked in the dropdown."""
        try:
            number = int(str(label).split(" ", 1)[0].lstrip("#"))
        except ValueError:
            return {}
        if not 1 <= number <= len(session.answers):
            return {}
        return {**self._panel(session, number), **self._visual_updates(self._visuals(session, number))}

    def new_conversation(self, session: ChatSession) -> dict[Any, Any]:
        gr = _gradio()
        session.reset()
        c = self.c
        return {
            c["chatbot"]: [],
            c["picker"]: gr.update(choices=[], value=None),
            c["summary"]: "",
            c["evidence"]: "<i>Ask a question to see its evidence.</i>",
            c["tools"]: "",
            c["verdicts"]: "",
            c["reasoning"]: "",
            **self._visual_updates(Visuals()),
            c["export_md"]: gr.update(visible=False, value=None),
            c["export_json"]: gr.update(visible=False, value=None),
        }

    # ----- panel pieces --------------------------------------------------------------------------------

    def _panel(self, session: ChatSession, number: int) -> dict[Any, Any]:
        gr = _gradio()
        answer = session.answers[number - 1]
        labels = [_answer_label(n, a.question) for n, a in enumerate(session.answers, start=1)]
        markdown_file, json_file = _export_files(session, number)
        c = self.c
        return {
            c["picker"]: gr.update(choices=labels, value=labels[number - 1]),
            c["summary"]: render.summary_markdown(answer),
            c["evidence"]: render.evidence_html(answer),
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
            c["visual_notes"]: "\n".join(f"- {note}" for note in visuals.notes),
        }


def new_session() -> ChatSession:
    """A fresh conversation (``gr.State`` calls this once per browser session)."""
    return ChatSession()


def _gradio() -> Any:
    """Gradio, imported when the app is built (a core dependency, heavy to import)."""
    import gradio

    return gradio


def _reply_text(update: TurnUpdate) -> str:
    if update.error:
        return f"⚠ {update.error}"
    if update.answer is not None:
        return render.answer_markdown(update.answer)
    return render.streaming_markdown(update.draft) if update.draft else "▌"


def _answer_label(number: int, question: str) -> str:
    text = " ".join(question.split())
    return f"#{number} {text[:60]}{'…' if len(text) > 60 else ''}"


def _export_files(session: ChatSession, number: int) -> tuple[Path, Path]:
    """The answer as Markdown and JSON files in the session's own temp folder (served for download)."""
    folder = Path(tempfile.gettempdir()) / "bioagent-chat" / session.id
    folder.mkdir(parents=True, exist_ok=True)
    answer = session.answers[number - 1]
    markdown_file = folder / f"bioagent-answer-{number}.md"
    json_file = folder / f"bioagent-answer-{number}.json"
    markdown_file.write_text(render.export_markdown(answer), encoding="utf-8")
    json_file.write_text(render.export_json(answer), encoding="utf-8")
    return markdown_file, json_file


def build_app(settings: Settings | None = None, resources: SharedResources | None = None) -> Any:
    """The chat as a ``gradio.Blocks`` (not launched). Pass ``resources`` to share or fake the agents."""
    return ChatApp(resources or SharedResources(settings or Settings.load())).build()


def launch(
    settings: Settings | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: tuple[str, str] | None = None,
    block: bool = True,
) -> Any:
    """Serve the chat on ``host:port`` (loopback unless told otherwise), with basic auth when given. The default
    agent is loaded first, so the first question is quick and a broken setup is reported in the console too."""
    gr = _gradio()
    resources = SharedResources(settings or Settings.load())
    try:
        resources.agent(resources.default_choice())
    except BioagentError as exc:  # still serve: the chat shows the same error on each question
        logger.warning("the chat starts, but the agent could not be loaded: %s", exc)
    demo = build_app(resources=resources)
    theme = gr.themes.Soft(
        primary_hue="teal",
        font=["ui-sans-serif", "system-ui", "sans-serif"],
        font_mono=["ui-monospace", "monospace"],
    )
    demo.queue(default_concurrency_limit=1)
    demo.launch(
        server_name=host,
        server_port=port,
        auth=auth,
        share=False,
        inbrowser=False,
        prevent_thread_lock=not block,
        ssr_mode=False,
        footer_links=[],
        theme=theme,
        css=CSS,
        quiet=True,
    )
    return demo
