"""Contextual summaries (PaperQA2's evidence-gathering step), for capable chat models (``agent.research_summaries``).

After the research loop, the model reads each literature passage for the question: it summarises what the
passage says that helps (numbers and names copied) and scores its relevance 0-10. The summary is shown to the
answer writer beside the passage; a passage scored below ``agent.research_summary_min_score`` is set aside
(it keeps its number, but neither the writer nor the composer uses it). Evidence numbers never change.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from bioagent.agent.evidence import EvidenceSet
from bioagent.agent.prompts import load_prompt
from bioagent.llm import explain_llm_error

PASSAGE_CHARS = 4000
"""Most characters of one passage the model reads."""
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


@dataclass
class SummaryReport:
    """What the summary step did, for the answer's notes, trace and timings."""

    summarised: int = 0
    set_aside: list[int] = field(default_factory=list)
    unreadable: int = 0
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def trace(self, min_score: int) -> str:
        line = f"Summarised {self.summarised} passage(s) for the question"
        if self.set_aside:
            numbers = ", ".join(f"[{n}]" for n in self.set_aside)
            line += f"; set aside {numbers} (relevance below {min_score}/10)"
        if self.unreadable:
            line += f"; {self.unreadable} reply(ies) were not the JSON asked for (those passages are used as found)"
        return line + "."


def parse_summary(reply: str) -> tuple[str, int] | None:
    """(summary, relevance 0-10) from the model's JSON reply; None when it is not that."""
    match = _JSON_OBJECT.search(reply)
    try:
        data = json.loads(match.group(0)) if match else None
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    summary, relevance = data.get("summary"), data.get("relevance")
    if not isinstance(summary, str) or not summary.strip() or isinstance(relevance, bool):
        return None
    if not isinstance(relevance, (int, float)) or not 0 <= relevance <= 10:
        return None
    return summary.strip(), round(relevance)


def summarise_evidence(
    llm: BaseChatModel, question: str, evidence: EvidenceSet, min_score: int, max_items: int
) -> SummaryReport:
    """Summarise and score the first ``max_items`` literature passages of ``evidence`` (in place)."""
    start, report, prompt = time.perf_counter(), SummaryReport(), load_prompt("summary")
    for item in [item for item in evidence.items if item.kind == "literature"][:max_items]:
        system, user = prompt.render(question=question, passage=evidence.texts[item.id][:PASSAGE_CHARS])
        try:
            reply = llm.invoke([SystemMessage(content=system), HumanMessage(content=user)])
        except Exception as exc:  # the model failed: the passages not yet read are used as retrieved
            report.notes.append(
                f"Contextual summaries stopped: the chat model failed ({explain_llm_error(exc, llm)}); the "
                "remaining passages are used as retrieved."
            )
            break
        parsed = parse_summary(reply.text)
        if parsed is None:
            report.unreadable += 1
            continue
        report.summarised += 1
        item.metadata["summary"], item.metadata["summary_relevance"] = parsed
        if parsed[1] < min_score:
            item.metadata["set_aside"] = f"the chat model scored its relevance {parsed[1]}/10"
            report.set_aside.append(item.number)
    report.seconds = round(time.perf_counter() - start, 4)
    return report
