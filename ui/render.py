"""Turning an :class:`~bioagent.types.Answer` into what the chat shows: linked citations with hover cards,
the side panel (evidence, tool calls, reasoning, verdicts) and the Markdown / JSON exports.

Pure functions over the public types: no Gradio, no models, so they are tested in milliseconds.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

from bioagent.citations import evidence_url as citation_url
from bioagent.citations import find_citations
from bioagent.types import Answer, Evidence, SentenceVerdict, ToolCall

LINK_HOSTS: tuple[str, ...] = ("ncbi.nlm.nih.gov", "uniprot.org", "doi.org")
"""Hosts (and their subdomains) that shown text may link to: PubMed/NCBI, UniProt, DOI. The chat adds the
configured ones; every other address is shown as plain text."""
NOTE_MARK = "\n\nNote: "
CARD_CHARS = 320

_MARKDOWN_ACTIVE = "\\`[]"
"""Characters that start Markdown escapes, code spans, and link and image brackets."""
_HTML_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}
_AS_ENTITIES = str.maketrans(_HTML_ENTITIES | {c: f"&#{ord(c)};" for c in _MARKDOWN_ACTIVE})
_AS_BACKSLASHED = str.maketrans({c: "\\" + c for c in _MARKDOWN_ACTIVE + "&<>"})
_AUTOLINK = re.compile(r":(?=//)|(?<=www)\.", re.IGNORECASE)
"""Where Markdown would turn a bare address (``https://…``, ``www.…``) into a link."""
_LINKISH = re.compile(
    r"(?P<bang>!?)\[(?P<label>[^\[\]\n]{0,300})\]\(\s*(?P<url>[^\s()<>]+)\s*\)"
    r"|(?P<bare>https?://[^\s<>\"'()\[\]]*[^\s<>\"'()\[\].,;:!?])",
    re.IGNORECASE,
)


def allowed_url(url: str, hosts: Collection[str] = LINK_HOSTS) -> bool:
    """Whether ``url`` is a plain http(s) address on one of ``hosts`` (or a subdomain of one)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or parts.username is not None or "\\" in url:
        return False
    return any(host == h.lower() or host.endswith("." + h.lower()) for h in hosts)


def plain_html(text: str) -> str:
    """``text`` shown as typed in HTML and in Markdown: tags, entities, code, link and image syntax become
    character references, and bare addresses do not turn into links."""
    return _AUTOLINK.sub(lambda m: f"&#{ord(m.group())};", text.translate(_AS_ENTITIES))


def plain_markdown(text: str) -> str:
    """``text`` shown as typed in a Markdown file, still readable there: the same characters backslash-escaped."""
    return _AUTOLINK.sub(lambda m: "\\" + m.group(), text.translate(_AS_BACKSLASHED))


def inert_text(text: str, hosts: Collection[str] = LINK_HOSTS) -> str:
    """``text`` (from documents, models or people) safe to show: nothing in it loads, runs or links, except
    Markdown links and bare addresses on ``hosts``, which become anchors; images stay text."""
    out, last = [], 0
    for match in _LINKISH.finditer(text):
        url = match["url"] or match["bare"]
        if match["bang"] or not allowed_url(url, hosts):
            continue  # stays text: escaped with the rest
        out += [plain_html(text[last : match.start()]), _anchor(url, match["label"] or url)]
        last = match.end()
    out.append(plain_html(text[last:]))
    return "".join(out)


def _anchor(url: str, label: str) -> str:
    """A link to ``url`` (already checked against the allowed hosts) that opens in a new tab."""
    return (
        f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">'
        f"{plain_html(label)}</a>"
    )


def evidence_url(item: Evidence, hosts: Collection[str] = LINK_HOSTS) -> str | None:
    """The item's own address when it is on ``hosts``, else its citation page (PubMed, UniProt), else None."""
    own = item.url if item.url and allowed_url(item.url, hosts) else None
    return own or citation_url(item.id)


def _clip(text: str, limit: int = CARD_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _heading(item: Evidence) -> str:
    """The evidence title, or its first words when it has none (PubMedQA abstracts come without titles)."""
    return item.title or _clip(item.snippet, 100)


def evidence_anchor(key: str) -> str:
    """The element id of evidence ``key`` in the evidence panel (``evidence-doc-4983``)."""
    return "evidence-" + re.sub(r"[^A-Za-z0-9_-]+", "-", key)


def citation_label(key: str, item: Evidence | None) -> str:
    """What a citation shows: its key (``PMID:123``), or for a tool result the tool's short title
    ("Protein properties", "ADMET predictions 2" for a second call) instead of its internal name."""
    if not key.startswith("tool:") or item is None or not item.title:
        return key
    repeat = re.search(r"-(\d+)$", key)
    return item.title.split(" (")[0] + (f" {repeat.group(1)}" if repeat else "")


def citation_html(key: str, evidence: dict[str, Evidence], hosts: Collection[str] = LINK_HOSTS) -> str:
    """One citation as a link: its public page on ``hosts`` (new tab), else its record in the evidence panel;
    the cited snippet shows on hover or focus (a CSS popover of its ``title``, also the native tooltip)."""
    item = evidence.get(key)
    url = evidence_url(item, hosts) if item else citation_url(key)
    card = (
        f"{item.title} — {_clip(item.snippet)}"
        if item and item.title
        else _clip(item.snippet)
        if item
        else ""
    )
    hover = f' title="{plain_html(card)}"' if card else ""
    label = plain_html(citation_label(key, item))
    if url:
        return (
            f'<a class="cite" href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer"'
            f"{hover}>{label}</a>"
        )
    return f'<a class="cite" href="#{evidence_anchor(key)}"{hover}>{label}</a>'


def link_citations(text: str, evidence: dict[str, Evidence], hosts: Collection[str] = LINK_HOSTS) -> str:
    """``text`` made inert (:func:`inert_text`), each bracketed citation group turned into linked keys with
    hover cards."""
    out, last = [], 0
    for mark in find_citations(text, numbers=False):
        out.append(inert_text(text[last : mark.start], hosts))
        out.append("&#91;" + "; ".join(citation_html(key, evidence, hosts) for key in mark.keys) + "&#93;")
        last = mark.end
    out.append(inert_text(text[last:], hosts))
    return "".join(out)


def cited_keys(answer: Answer) -> list[str]:
    """Keys cited in the answer, in order of first appearance (the answer's citations as fallback)."""
    keys = [key for mark in find_citations(answer.text, numbers=False) for key in mark.keys]
    return list(dict.fromkeys(keys)) or [c.id for c in answer.citations]


def source_cards(answer: Answer, hosts: Collection[str] = LINK_HOSTS) -> str:
    """Expandable cards under the answer: one per cited source, with its snippet and link."""
    evidence = {item.id: item for item in answer.evidence}
    cards = []
    for key in cited_keys(answer):
        item = evidence.get(key)
        if item is None:
            continue
        url = evidence_url(item, hosts)
        link = f" · {_anchor(url, 'open')}" if url else ""
        heading = "" if key.startswith("tool:") else plain_html(_clip(_heading(item), 120))
        cards.append(
            f'<details class="source-card"><summary>{citation_html(key, evidence, hosts)} {heading}</summary>'
            f"<p>{inert_text(_clip(item.snippet, 700), hosts)}{link}</p></details>"
        )
    if not cards:
        return ""
    return f'<div class="sources"><b>Sources ({len(cards)})</b>{"".join(cards)}</div>'


def split_note(text: str) -> tuple[str, str]:
    """The answer text and the trailing 'Note: ...' the agent appends (empty when none)."""
    body, _, note = text.partition(NOTE_MARK)
    return body, note


def answer_markdown(answer: Answer, hosts: Collection[str] = LINK_HOSTS) -> str:
    """The chat message of a finished answer: linked text, a note line, the source cards."""
    evidence = {item.id: item for item in answer.evidence}
    body, note = split_note(answer.text)
    parts = [link_citations(body, evidence, hosts)]
    if note:
        parts.append(f"\n\n> ℹ *Note:* {inert_text(note, hosts)}")
    cards = source_cards(answer, hosts)
    if cards:
        parts.append("\n\n" + cards)
    return "".join(parts)


FASTA_WIDTH = 60
_SEQUENCE_LINE = re.compile(r"[A-Za-z*-]+")


def user_markdown(text: str, hosts: Collection[str] = LINK_HOSTS) -> str:
    """The question as typed; pasted FASTA or long sequences/SMILES go in a code block so they stay intact,
    sequence lines folded to FASTA lines of 60 residues."""
    lines = text.strip().splitlines()
    if any(line.startswith(">") for line in lines) or any(len(token) >= 60 for token in text.split()):
        folded = "\n".join(_fold_sequence(line.strip()) for line in lines)
        return "```text\n" + folded.replace("```", "ˋˋˋ") + "\n```"
    return inert_text(text.strip(), hosts)


def _fold_sequence(line: str) -> str:
    """A bare sequence line cut into lines of :data:`FASTA_WIDTH`; any other line as it is."""
    if len(line) <= FASTA_WIDTH or not _SEQUENCE_LINE.fullmatch(line):
        return line
    return "\n".join(line[i : i + FASTA_WIDTH] for i in range(0, len(line), FASTA_WIDTH))


def streaming_markdown(text: str, hosts: Collection[str] = LINK_HOSTS) -> str:
    """The answer while tokens arrive: inert, with a cursor."""
    return inert_text(text, hosts) + " ▌"


# ----- the side panel ----------------------------------------------------------------------------------


def evidence_html(answer: Answer, hosts: Collection[str] = LINK_HOSTS) -> str:
    """The evidence list: number, key (linked), kind/source, relevance, title and snippet."""
    if not answer.evidence:
        return '<div id="evidence-list" class="empty">No evidence was used for this answer.</div>'
    cited = set(cited_keys(answer))
    evidence = {item.id: item for item in answer.evidence}
    rows = []
    for item in answer.evidence:
        source = item.metadata.get("source") or item.metadata.get("model") or ""
        score = f"relevance {item.score:.2f}" if item.score is not None else "tool output"
        badge = '<span class="badge cited">cited</span>' if item.id in cited else ""
        meta = " · ".join(plain_html(str(p)) for p in (item.kind, source, score) if p)
        opened = " open" if item.id in cited else ""
        rows.append(
            f'<details class="evidence-item" id="{evidence_anchor(item.id)}"{opened}><summary>'
            f"<b>[{item.number}]</b> {citation_html(item.id, evidence, hosts)} {badge}"
            f'<br><span class="meta">{meta}</span><br>{plain_html(_clip(_heading(item), 160))}</summary>'
            f'<p class="snippet">{inert_text(_clip(item.snippet, 900), hosts)}</p></details>'
        )
    return f'<div id="evidence-list">{"".join(rows)}</div>'


def tool_result_summary(call: ToolCall, limit: int = 240) -> str:
    """One line: the error, or the scalar numbers of the result (per-residue arrays left out)."""
    if call.result is None:
        return "no result"
    if not call.result.ok:
        return f"failed: {call.result.error}"
    parts: list[str] = []
    _scalars(call.result.data, "", parts)
    return _clip("; ".join(parts) or "ok", limit)


_SKIPPED = {"meaning", "plot", "tool", "model", "model_version", "sequence", "disorder", "plddt"}


def _scalars(value: Any, label: str, parts: list[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in _SKIPPED:
                _scalars(item, f"{label}.{key}" if label else str(key), parts)
    elif isinstance(value, list):
        for item in value[:3]:
            _scalars(item, label, parts)
    elif isinstance(value, bool | int | float) or (isinstance(value, str) and len(value) <= 60):
        parts.append(f"{label.rsplit('.', 1)[-1]}={round(value, 3) if isinstance(value, float) else value}")


def _arguments(arguments: dict[str, Any]) -> str:
    shown = {
        k: (v if not isinstance(v, str) or len(v) <= 40 else f"{v[:37]}… ({len(v)} chars)")
        for k, v in arguments.items()
    }
    return json.dumps(shown, ensure_ascii=False)


def tool_calls_markdown(answer: Answer) -> str:
    if not answer.tool_calls:
        return "_No tools were called for this answer._"
    lines = ["| tool | arguments | result | time |", "|---|---|---|---|"]
    for call in answer.tool_calls:
        status = "✓" if call.result and call.result.ok else "✗"
        cells = [
            f"{status} <code>{_cell(call.name)}</code>",
            _cell(_arguments(call.arguments)),
            _cell(tool_result_summary(call)),
            f"{call.seconds:.2f} s",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return plain_html(text).replace("|", "\\|").replace("\n", " ")


def reasoning_markdown(answer: Answer) -> str:
    if not answer.reasoning.strip():
        return "_No reasoning was recorded._"
    return "\n".join(
        f"{n}. {plain_html(line)}" for n, line in enumerate(answer.reasoning.splitlines(), 1) if line.strip()
    )


def verdict_label(verdict: SentenceVerdict) -> str:
    """ "✓ supported" only for a sentence whose citations support it; a kept sentence without a citation (a bare
    "Yes.", a connecting phrase) is "kept, nothing to check", never shown as verified."""
    if not verdict.supported:
        return "✗ removed"
    return "✓ supported" if verdict.citations else "– kept, nothing to check"


def verdicts_markdown(answer: Answer) -> str:
    """Each checked sentence: kept (supported, with its citations) or removed, with the verifier's reason."""
    if not answer.verdicts:
        return "_Nothing to verify (no generated sentences)._"
    lines = []
    for verdict in answer.verdicts:
        mark = verdict_label(verdict)
        cites = plain_html(", ".join(verdict.citations) or "no citation")
        reason = f" — {plain_html(verdict.reason)}" if verdict.reason else ""
        removed = plain_html(", ".join(verdict.removed_citations))
        dropped = f" (dropped: {removed})" if verdict.removed_citations else ""
        lines.append(
            f"- **{mark}** ({cites}; score {verdict.score:.2f}){reason}{dropped}<br>"
            f"  <span class='sentence'>{plain_html(verdict.sentence)}</span>"
        )
    return "\n".join(lines)


def summary_markdown(answer: Answer) -> str:
    """One line under the panel title: model, planner, timings, flags."""
    total = answer.timings.get("total")
    parts = [f"model `{answer.model or 'unknown'}`", f"planner `{answer.planner or '-'}`"]
    if total is not None:
        parts.append(f"{total:.1f} s")
    if answer.abstained:
        parts.append("abstained")
    if answer.extractive:
        parts.append("composed from the evidence (no generated text)")
    return " · ".join(parts)


# ----- export -------------------------------------------------------------------------------------------


def export_markdown(answer: Answer, hosts: Collection[str] = LINK_HOSTS) -> str:
    """The answer with its evidence, tool calls and verification as a standalone Markdown document; text from
    documents and models is escaped (:func:`plain_markdown`), links go to ``hosts`` only."""
    body, note = split_note(answer.text)
    lines = [f"# {plain_markdown(answer.question)}", "", plain_markdown(body.strip()), ""]
    if note:
        lines += [f"> Note: {plain_markdown(note)}", ""]
    lines += ["## Evidence", ""]
    for item in answer.evidence:
        url = evidence_url(item, hosts)
        key = f"[{plain_markdown(item.id)}]({url})" if url else plain_markdown(item.id)
        score = f", relevance {item.score:.2f}" if item.score is not None else ""
        lines += [
            f"{item.number}. {key} ({item.kind}{score}) — {plain_markdown(_heading(item))}",
            f"   > {plain_markdown(_clip(item.snippet, 1500))}",
            "",
        ]
    if answer.tool_calls:
        lines += ["## Tool calls", "", tool_calls_markdown(answer), ""]
    if answer.verdicts:
        lines += ["## Verification", ""]
        lines += [
            f"- {verdict_label(v)} ({plain_markdown(', '.join(v.citations)) or 'no citation'}, "
            f"score {v.score:.2f}): {plain_markdown(v.sentence)}"
            for v in answer.verdicts
        ]
        lines.append("")
    if answer.reasoning:
        lines += ["## Reasoning", "", plain_markdown(answer.reasoning), ""]
    timings = ", ".join(f"{k} {v:.2f} s" for k, v in answer.timings.items())
    lines += ["---", f"Model: {answer.model} · planner: {answer.planner} · {timings}", ""]
    return "\n".join(lines)


def export_json(answer: Answer) -> str:
    """The full Answer (evidence, tool calls with results, verdicts, timings) as indented JSON."""
    return json.dumps(answer.model_dump(mode="json"), indent=2, ensure_ascii=False)
