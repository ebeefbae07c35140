"""Plain typed records passed between layers. Light on purpose: importing this module pulls in no ML stack."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

JSONDict = dict[str, Any]


class Document(BaseModel):
    """One retrievable unit: an abstract, a UniProt entry, or a chunk of a longer text."""

    model_config = ConfigDict(frozen=False)

    id: str = Field(
        description="Stable id: the source id (PMID, BEIR _id, accession) or '<doc id>#<chunk no>'."
    )
    title: str = ""
    text: str = ""
    source: str = Field(default="", description="Where it came from: 'pubmed', 'beir', 'uniprot', 'csv', ...")
    metadata: JSONDict = Field(default_factory=dict)

    @property
    def parent_id(self) -> str:
        """Id of the source document this chunk belongs to (the id itself for unchunked documents)."""
        return str(self.metadata.get("parent_id", self.id))

    def full_text(self) -> str:
        """Title and text joined, as indexed."""
        return f"{self.title}. {self.text}" if self.title and self.text else (self.title or self.text)


SearchMode = Literal["hybrid", "dense", "lexical"]
SEARCH_MODES: tuple[str, ...] = get_args(SearchMode)


class Hit(BaseModel):
    """One search result."""

    id: str
    score: float
    rank: int
    title: str = ""
    text: str = ""
    source: str = ""
    metadata: JSONDict = Field(default_factory=dict)

    @property
    def parent_id(self) -> str:
        return str(self.metadata.get("parent_id", self.id))

    @classmethod
    def of_document(cls, doc: Document, rank: int, score: float = 1.0) -> Hit:
        """``doc`` as a hit of its own (found by id rather than by a search)."""
        return cls(
            id=doc.id,
            score=score,
            rank=rank,
            title=doc.title,
            text=doc.text,
            source=doc.source,
            metadata=dict(doc.metadata),
        )


EvidenceKind = Literal["literature", "database", "prediction"]


class Evidence(BaseModel):
    """A numbered piece of evidence gathered during one agent run."""

    id: str = Field(description="Citation key: 'PMID:123', 'UniProt:P04637', 'tool:admet', 'doc:abc'.")
    kind: EvidenceKind
    title: str = ""
    snippet: str = ""
    score: float | None = None
    url: str | None = None
    metadata: JSONDict = Field(default_factory=dict)
    number: int = Field(default=0, description="1-based position in the run's numbered evidence list.")


class Citation(BaseModel):
    """A citation that appears in an answer and points to evidence from the same run."""

    id: str
    url: str | None = None
    snippet: str = ""


class Artifact(BaseModel):
    """Something a tool's result can be shown as: a per-residue ``series`` (plot data), an ``svg`` picture, or a
    ``table`` (``columns`` and ``rows``). The chat renders these; nothing is computed again to show them."""

    kind: Literal["series", "svg", "table"]
    title: str
    data: JSONDict = Field(default_factory=dict)


class ToolResult(BaseModel):
    """What a tool returned (or the error it raised), with provenance and the artifacts to show it by."""

    tool: str
    ok: bool = True
    data: JSONDict = Field(default_factory=dict)
    error: str | None = None
    model: str | None = Field(default=None, description="Model and version that produced a prediction.")
    artifacts: list[Artifact] = Field(default_factory=list)


class ToolCall(BaseModel):
    name: str
    arguments: JSONDict = Field(default_factory=dict)
    result: ToolResult | None = None
    seconds: float = 0.0


class SentenceVerdict(BaseModel):
    sentence: str
    citations: list[str] = Field(default_factory=list)
    supported: bool
    score: float = 0.0
    reason: str = ""
    removed_citations: list[str] = Field(
        default_factory=list,
        description="Citations dropped from this sentence (unknown ids or not supporting).",
    )


class Answer(BaseModel):
    """The agent's answer with everything needed to check it."""

    question: str
    text: str
    citations: list[Citation] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    tool_calls: list[ToolCall] = Field(default_factory=list)
    reasoning: str = ""
    verdicts: list[SentenceVerdict] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    model: str = ""
    abstained: bool = False
    notes: list[str] = Field(
        default_factory=list,
        description="What the reader should know: failed tools, removed sentences, fallbacks, truncation.",
    )
    planner: str = Field(default="", description="Which planner chose the retrieval and tool calls.")
    extractive: bool = Field(
        default=False, description="True when the text was composed from evidence sentences, not generated."
    )


Decision = Literal["include", "exclude", "unsure"]


class CriterionCheck(BaseModel):
    criterion: str
    kind: Literal["inclusion", "exclusion"]
    met: bool
    evidence: str = Field(default="", description="The sentence of the record that supports the verdict.")
    score: float = 0.0


class TriageDecision(BaseModel):
    """One screened record."""

    record_id: str
    rank: int
    score: float
    decision: Decision
    checks: list[CriterionCheck] = Field(default_factory=list)
    model: str = ""
    duplicate_of: str | None = None
