"""Turning an :class:`~bioagent.types.Answer` into what the chat shows: linked citations with hover cards,
the side panel (evidence, tool calls, reasoning, verdicts) and the Markdown / JSON exports.

Pure functions over the public types: no Gradio, no models, so they are tested in milliseconds.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from bioagent.types import Answer, Evidence, ToolCall

PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{}/"
UNIPROT_URL = "https://www.uniprot.org/uniprotkb/{}/entry"
_KEY = r"(?:PMID|UniProt|tool|doc)\s*:\s*[^\s\[\];,]+"
CITATION_GROUP = re.compile(rf"\[\s*({_KEY}(?:\s*[;,]\s*{_KEY})*)\s*\]", re.IGNORECASE)
NOTE_MARK = "\n\nNote: "
CARD_CHARS = 320


def citation_url(key: str) -> str | None:
    """The public page of a citation key: PubMed for ``PMID:<n>``, UniProt for ``UniProt:<acc>``."""
    prefix, _, value = key.partition(":")
    value = value.strip()
    if prefix.lower() == "pmid" and value.isdigit():
        return PUBMED_URL.format(value)
    if prefix.lower() == "uniprot" and re.fullmatch(r"[A-Z0-9]{6,10}", value):
        return UNIPROT_URL.format(value)
    return None


def evidence_url(item: Evidence) -> str | None:
    return item.url or citation_url(item.id)


def _clip(text: str, limit: int = CARD_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _heading(item: Evidence) -> str:
    """The evidence title, or its first words when it has none (PubMedQA abstracts come without titles)."""
    return item.title or _clip(item.snippet, 100)


def citation_html(key: str, evidence: dict[str, Evidence]) -> str:
    """One citation as a link (when it has a public page) whose hover card is the cited snippet."""
    item = evidence.get(key)
    url = evidence_url(item) if item else citation_url(key)
    card = (
        f"{item.title} — {_clip(item.snippet)}"
        if item and item.title
        else _clip(item.snippet)
        if item
        else ""
    )
    title = f' title="{html.escape(card, quote=True)}"' if card else ""
    label = html.escape(key)
    if url:
        return (
            f'<a class="cite" href="{html.escape(url, quote=True)}" target="_blank" rel="noopener"{title}>'
            f"{label}</a>"
        )
    return f'<span class="cite"{title}>{label}</span>'


def link_citations(text: str, evidence: dict[str, Evidence]) -> str:
    """HTML-escape ``text`` and turn each bracketed citation group into linked keys with hover cards."""
    out, last = [], 0
    for match in CITATION_GROUP.finditer(text):
        out.append(html.escape(text[last : match.start()], quote=False))
        keys = [_normal_key(k) for k in re.split(r"\s*[;,]\s*", match.group(1)) if k.strip()]
        out.append("[" + "; ".join(citation_html(key, evidence) for key in keys) + "]")
        last = match.end()
    out.append(html.escape(text[last:], quote=False))
    return "".join(out)


def _normal_key(raw: str) -> str:
    prefix, _, value = raw.partition(":")
    canonical = {"pmid": "PMID", "uniprot": "UniProt", "tool": "tool", "doc": "doc"}[prefix.strip().lower()]
    return f"{canonical}:{value.strip()}"


def cited_keys(answer: Answer) -> list[str]:
    """Keys cited in the answer, in order of first appearance (the answer's citations as fallback)."""
    keys: list[str] = []
    for match in CITATION_GROUP.finditer(answer.text):
        for raw in re.split(r"\s*[;,]\s*", match.group(1)):
            key = _normal_key(raw)
            if raw.strip() and key not in keys:
                keys.append(key)
    return keys or [c.id for c in answer.citations]


def source_cards(answer: Answer) -> str:
    """Expandable cards under the answer: one per cited source, with its snippet and link."""
    evidence = {item.id: item for item in answer.evidence}
    cards = []
    for key in cited_keys(answer):
        item = evidence.get(key)
        if item is None:
            continue
        url = evidence_url(item)
        link = (
            f' · <a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener">open</a>'
            if url
            else ""
        )
        cards.append(
            f'<details class="source-card"><summary>{citation_html(key, evidence)} '
            f"{html.escape(_clip(_heading(item), 120))}</summary>"
            f"<p>{html.escape(_clip(item.snippet, 700))}{link}</p></details>"
        )
    if not cards:
        return ""
    return f'<div class="sources"><b>Sources ({len(cards)})</b>{"".join(cards)}</div>'


def split_note(text: str) -> tuple[str, str]:
    """The answer text and the trailing 'Note: ...' the agent appends (empty when none)."""
    body, _, note = text.partition(NOTE_MARK)
    return body, note


def answer_markdown(answer: Answer) -> str:
    """The chat message of a finished answer: linked text, a note line, the source cards."""
    evidence = {item.id: item for item in answer.evidence}
    body, note = split_note(answer.text)
    parts = [link_citations(body, evidence)]
    if note:
        parts.append(f"\n\n> ℹ *Note:* {html.escape(note, quote=False)}")
    cards = source_cards(answer)
    if cards:
        parts.append("\n\n" + cards)
    return "".join(parts)


def user_markdown(text: str) -> str:
    """The question as typed; pasted FASTA or long sequences/SMILES go in a code block so they stay intact."""
    lines = text.strip().splitlines()
    if any(line.startswith(">") for line in lines) or any(len(token) >= 60 for token in text.split()):
        return "```text\n" + text.strip().replace("```", "ˋˋˋ") + "\n```"
    return html.escape(text.strip(), quote=False)


def streaming_markdown(text: str) -> str:
    """The answer while tokens arrive: escaped, with a cursor."""
    return html.escape(text, quote=False) + " ▌"


# ----- the side panel ----------------------------------------------------------------------------------


def evidence_html(answer: Answer) -> str:
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
        meta = " · ".join(html.escape(str(p)) for p in (item.kind, source, score) if p)
        rows.append(
            f'<details class="evidence-item"{" open" if item.id in cited else ""}><summary>'
            f"<b>[{item.number}]</b> {citation_html(item.id, evidence)} {badge}"
            f'<br><span class="meta">{meta}</span><br>{html.escape(_clip(_heading(item), 160))}</summary>'
            f'<p class="snippet">{html.escape(_clip(item.snippet, 900))}</p></details>'
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
            f"{status} `{call.name}`",
            _arguments(call.arguments),
            tool_result_summary(call),
            f"{call.seconds:.2f} s",
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return html.escape(text, quote=False).replace("|", "\\|").replace("\n", " ")


def reasoning_markdown(answer: Answer) -> str:
    if not answer.reasoning.strip():
        return "_No reasoning was recorded._"
    return "\n".join(
        f"{n}. {html.escape(line, quote=False)}"
        for n, line in enumerate(answer.reasoning.splitlines(), 1)
        if line.strip()
    )


def verdicts_markdown(answer: Answer) -> str:
    """Each checked sentence: kept (supported, with its citations) or removed, with the verifier's reason."""
    if not answer.verdicts:
        return "_Nothing to verify (no generated sentences)._"
    lines = []
    for verdict in answer.verdicts:
        mark = "✓ supported" if verdict.supported else "✗ removed"
        cites = ", ".join(verdict.citations) or "no citation"
        reason = f" — {verdict.reason}" if verdict.reason else ""
        dropped = f" (dropped: {', '.join(verdict.removed_citations)})" if verdict.removed_citations else ""
        lines.append(
            f"- **{mark}** ({cites}; score {verdict.score:.2f}){reason}{dropped}<br>"
            f"  <span class='sentence'>{html.escape(verdict.sentence, quote=False)}</span>"
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


def export_markdown(answer: Answer) -> str:
    """The answer with its evidence, tool calls and verification as a standalone Markdown document."""
    body, note = split_note(answer.text)
    lines = [f"# {answer.question}", "", body.strip(), ""]
    if note:
        lines += [f"> Note: {note}", ""]
    lines += ["## Evidence", ""]
    for item in answer.evidence:
        url = evidence_url(item)
        key = f"[{item.id}]({url})" if url else item.id
        score = f", relevance {item.score:.2f}" if item.score is not None else ""
        lines += [
            f"{item.number}. {key} ({item.kind}{score}) — {_heading(item)}",
            f"   > {_clip(item.snippet, 1500)}",
            "",
        ]
    if answer.tool_calls:
        lines += ["## Tool calls", "", tool_calls_markdown(answer), ""]
    if answer.verdicts:
        lines += ["## Verification", ""]
        lines += [
            f"- {'supported' if v.supported else 'removed'} ({', '.join(v.citations) or 'no citation'}, "
            f"score {v.score:.2f}): {v.sentence}"
            for v in answer.verdicts
        ]
        lines.append("")
    if answer.reasoning:
        lines += ["## Reasoning", "", answer.reasoning, ""]
    timings = ", ".join(f"{k} {v:.2f} s" for k, v in answer.timings.items())
    lines += ["---", f"Model: {answer.model} · planner: {answer.planner} · {timings}", ""]
    return "\n".join(lines)


def export_json(answer: Answer) -> str:
    """The full Answer (evidence, tool calls with results, verdicts, timings) as indented JSON."""
    return json.dumps(answer.model_dump(mode="json"), indent=2, ensure_ascii=False)
