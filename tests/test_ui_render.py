"""The chat's rendering helpers on hand-made answers: citation links and cards, the side panel, exports, and
which protein / drug an answer is about."""

from __future__ import annotations

import json

import pytest

from bioagent.api import structure_svg
from bioagent.errors import BioagentError
from bioagent.settings import Settings
from bioagent.tools.registry import tool_result
from bioagent.types import Answer, Citation, Evidence, SentenceVerdict, ToolCall, ToolResult
from bioagent.ui import render
from bioagent.ui.visuals import admet_rows, disorder_plot, drug_subject, protein_subject

SNIPPET = "Mitochondria play a role in remodelling lace plant leaves during programmed cell death."


def make_answer(**changes: object) -> Answer:
    fields: dict[str, object] = {
        "question": "Do mitochondria remodel lace plant leaves?",
        "text": "Yes [PMID:21645374]. p53 is a tumour suppressor [UniProt:P04637; tool:disorder].\n\nNote: 1 sentence "
        "was removed because the evidence did not support it.",
        "citations": [
            Citation(id="PMID:21645374"),
            Citation(id="UniProt:P04637"),
            Citation(id="tool:disorder"),
        ],
        "evidence": [
            Evidence(
                id="PMID:21645374",
                kind="literature",
                title="Lace plant <leaves>",
                snippet=SNIPPET,
                score=0.81,
                url="https://pubmed.ncbi.nlm.nih.gov/21645374/",
                metadata={"source": "pubmed"},
                number=1,
            ),
            Evidence(
                id="UniProt:P04637",
                kind="database",
                title="Cellular tumor antigen p53",
                snippet="p53",
                score=1.0,
                number=2,
            ),
            Evidence(
                id="tool:disorder",
                kind="prediction",
                title="disorder result",
                snippet="fraction 0.3",
                number=3,
            ),
            Evidence(
                id="doc:4983",
                kind="literature",
                title="Statins",
                snippet="Statins lower events.",
                score=0.4,
                number=4,
            ),
        ],
        "tool_calls": [
            ToolCall(
                name="disorder",
                arguments={"sequence": "M" * 120},
                result=ToolResult(
                    tool="disorder",
                    data={
                        "proteins": [{"name": "seq", "fraction_disordered": 0.3123, "disorder": [0.1] * 120}]
                    },
                ),
                seconds=0.42,
            ),
            ToolCall(
                name="admet",
                arguments={"smiles": "C1"},
                result=ToolResult(tool="admet", ok=False, error="bad | SMILES"),
            ),
        ],
        "reasoning": "Entities: genes: TP53\nRetrieved 4 passages.",
        "verdicts": [
            SentenceVerdict(sentence="Yes.", citations=["PMID:21645374"], supported=True, score=0.8),
            SentenceVerdict(
                sentence="Aspirin cures <all>.", citations=[], supported=False, reason="no support"
            ),
        ],
        "timings": {"retrieve": 0.1, "total": 2.5},
        "model": "fake:scripted",
        "planner": "rules",
    }
    fields.update(changes)
    return Answer(**fields)  # type: ignore[arg-type]


def test_citation_urls_follow_pubmed_and_uniprot_patterns() -> None:
    assert render.citation_url("PMID:21645374") == "https://pubmed.ncbi.nlm.nih.gov/21645374/"
    assert render.citation_url("UniProt:P04637") == "https://www.uniprot.org/uniprotkb/P04637/entry"
    assert render.citation_url("doc:4983") is None and render.citation_url("tool:admet") is None
    assert render.citation_url("PMID:abc") is None


def test_citations_become_links_with_hover_cards_and_text_is_escaped() -> None:
    answer = make_answer(
        text="<b>Yes</b> [PMID:21645374]; see [UniProt:P04637, tool:disorder] and [not a cite]."
    )
    html = render.link_citations(answer.text, {e.id: e for e in answer.evidence})
    assert html.startswith("&lt;b&gt;Yes&lt;/b&gt; &#91;<a class")
    assert '<a class="cite" href="https://pubmed.ncbi.nlm.nih.gov/21645374/"' in html
    assert 'title="Lace plant &lt;leaves&gt; — Mitochondria play a role' in html
    assert 'href="https://www.uniprot.org/uniprotkb/P04637/entry"' in html
    in_page = '<a class="cite" href="#evidence-tool-disorder" title="disorder result — fraction 0.3">'
    assert (
        in_page + "disorder result</a>" in html
    )  # no public page: its record in the evidence panel, by title
    assert "<span" not in html and html.count("<a ") == html.count('class="cite"') == 3
    assert "&#91;not a cite&#93;" in html  # shown as typed: brackets cannot start Markdown links


def test_every_evidence_item_is_an_anchor_target() -> None:
    panel = render.evidence_html(make_answer())
    for item in make_answer().evidence:
        assert f'id="{render.evidence_anchor(item.id)}"' in panel
    assert render.evidence_anchor("doc:4983/x y") == "evidence-doc-4983-x-y"


def test_a_pasted_sequence_is_shown_as_fasta_lines_of_60() -> None:
    sequence = "M" + "A" * 149
    shown = render.user_markdown(f"What is this?\n>query protein\n{sequence}")
    lines = shown.splitlines()
    assert lines[:3] == ["```text", "What is this?", ">query protein"] and lines[-1] == "```"
    assert "".join(lines[3:-1]) == sequence and max(len(line) for line in lines[3:-1]) == 60
    smiles = "CC(=O)Oc1ccccc1C(=O)O" * 4  # not a protein sequence: left whole (wrapped by CSS)
    assert smiles in render.user_markdown(f"Is this drug-like? {smiles}")


def test_answer_message_has_note_and_expandable_source_cards() -> None:
    message = render.answer_markdown(make_answer())
    body, _, cards = message.partition('<div class="sources">')
    assert "Note:" not in body.split("> ℹ")[0] and "1 sentence was removed" in body
    assert cards.count('<details class="source-card">') == 3  # PMID, UniProt, tool; in citation order
    assert cards.index("PMID:21645374") < cards.index("UniProt:P04637") < cards.index("disorder result</a>")
    assert SNIPPET in cards and "Sources (3)" in cards


def test_uncited_answer_has_no_source_cards() -> None:
    answer = make_answer(text="I cannot answer this.", citations=[])
    assert render.source_cards(answer) == "" and render.cited_keys(answer) == []


def test_evidence_panel_lists_every_item_with_source_score_and_cited_badge() -> None:
    panel = render.evidence_html(make_answer())
    assert panel.count('class="evidence-item"') == 4
    assert "literature · pubmed · relevance 0.81" in panel and "tool output" in panel
    assert panel.count("badge cited") == 3 and "doc:4983" in panel
    assert render.evidence_html(make_answer(evidence=[])).count("No evidence") == 1


def test_tool_calls_table_summarises_results_and_errors() -> None:
    table = render.tool_calls_markdown(make_answer())
    disorder_row, admet_row = table.splitlines()[2:]
    assert "✓ <code>disorder</code>" in disorder_row and "fraction_disordered=0.312" in disorder_row
    assert "0.1, 0.1" not in disorder_row and "(120 chars)" in disorder_row and "0.42 s" in disorder_row
    assert "✗ <code>admet</code>" in admet_row and "failed: bad \\| SMILES" in admet_row


def test_verdicts_reasoning_and_summary() -> None:
    answer = make_answer()
    verdicts = render.verdicts_markdown(answer)
    assert "✓ supported** (PMID:21645374" in verdicts and "✗ removed** (no citation" in verdicts
    assert "Aspirin cures &lt;all&gt;." in verdicts and "no support" in verdicts
    assert render.reasoning_markdown(answer) == "1. Entities: genes: TP53\n2. Retrieved 4 passages."
    assert render.summary_markdown(answer) == "model `fake:scripted` · planner `rules` · 2.5 s"


def test_export_markdown_holds_answer_evidence_tools_and_verification() -> None:
    text = render.export_markdown(make_answer())
    assert text.startswith("# Do mitochondria remodel lace plant leaves?\n\nYes \\[PMID:21645374\\].")
    assert "> Note: 1 sentence was removed" in text
    assert (
        "1. [PMID:21645374](https://pubmed.ncbi.nlm.nih.gov/21645374/) (literature, relevance 0.81)" in text
    )
    assert "4. doc:4983 (literature, relevance 0.40) — Statins" in text
    assert "## Tool calls" in text and "## Verification" in text and "- ✗ removed (no citation" in text
    assert "Model: fake:scripted · planner: rules · retrieve 0.10 s, total 2.50 s" in text


def test_export_json_round_trips_to_the_same_answer() -> None:
    answer = make_answer()
    data = json.loads(render.export_json(answer))
    assert Answer.model_validate(data) == answer
    assert data["evidence"][0]["snippet"] == SNIPPET and data["tool_calls"][0]["seconds"] == 0.42


def test_user_messages_keep_fasta_and_long_sequences_intact() -> None:
    fasta = (
        ">sp|P01308|INS_HUMAN Insulin\nMALWMRLLPLLALLALWGPDPAAAFVNQHLCGSHLVEALYLVCGERGFFYTPKT\nWhat is it?"
    )
    assert render.user_markdown(fasta) == f"```text\n{fasta}\n```"
    assert render.user_markdown("Is <TP53> disordered?") == "Is &lt;TP53&gt; disordered?"


def test_protein_subject_prefers_the_tool_sequence_named_after_its_entry() -> None:
    sequences = {"P04637": "M" * 120}
    answer = make_answer()
    assert protein_subject(answer, sequences.get) == ("P04637 Cellular tumor antigen p53", "M" * 120)
    fasta_call = ToolCall(name="protein_properties", arguments={"sequence": ">my_protein\nMKV"})
    assert protein_subject(make_answer(tool_calls=[fasta_call]), {}.get) == ("my_protein", ">my_protein\nMKV")
    uniprot_only = make_answer(tool_calls=[])
    assert protein_subject(uniprot_only, sequences.get) == ("P04637 Cellular tumor antigen p53", "M" * 120)
    assert protein_subject(make_answer(tool_calls=[], evidence=[]), sequences.get) is None


def test_drug_subject_takes_the_looked_up_structure_first() -> None:
    lookup = ToolCall(
        name="drug_lookup",
        arguments={"name": "aspirin"},
        result=ToolResult(
            tool="drug_lookup",
            data={"drug": {"name": "Acetylsalicylic acid", "smiles": "CC(=O)Oc1ccccc1C(=O)O"}},
        ),
    )
    assert drug_subject(make_answer(tool_calls=[lookup])) == ("Acetylsalicylic acid", "CC(=O)Oc1ccccc1C(=O)O")
    given = ToolCall(name="drug_properties", arguments={"smiles": "CCO, CCN"})
    assert drug_subject(make_answer(tool_calls=[given])) == ("CCO", "CCO")
    assert drug_subject(make_answer(tool_calls=[])) is None


def test_structure_svg_depicts_a_molecule() -> None:
    pytest.importorskip("rdkit", reason="the 2D depiction needs RDKit (the 'tools' extra)")
    svg = structure_svg("CC(=O)Oc1ccccc1C(=O)O")
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>") and "<path" in svg
    from bioagent.errors import ToolInputError

    with pytest.raises(ToolInputError):
        structure_svg("not-a-molecule((")


def test_admet_table_uses_the_agents_admet_result() -> None:
    endpoint = {"name": "hERG Blocking", "category": "Toxicity", "value": 0.21, "unit": "probability"}
    logp = {"name": "logP", "category": "Physicochemical", "value": 3.1, "unit": "log-ratio"}
    data = {
        "molecules": [
            {
                "endpoints": {"hERG": {**endpoint, "percentile_approved": 40.5}},
                "physicochemical": {"logP": {**logp, "percentile_approved": None}},
            }
        ]
    }
    data["molecules"][0]["input"] = "CCO"
    call = ToolCall(name="admet", arguments={"smiles": "CCO"}, result=tool_result("admet", data))
    assert [a.kind for a in call.result.artifacts] == ["table"]  # type: ignore[union-attr]  # attached by the tool
    rows = admet_rows(make_answer(tool_calls=[call]), "CCO", Settings.load())
    assert rows == [["hERG Blocking", 0.21, "probability", 40.5], ["logP", 3.1, "log-ratio", None]]
    bare = ToolCall(name="admet", arguments={"smiles": "CCO"}, result=ToolResult(tool="admet", data=data))
    with pytest.raises(BioagentError, match="the admet result has no table to show"):
        admet_rows(make_answer(tool_calls=[bare]), "CCO", Settings.load())


def test_untitled_evidence_is_headed_by_its_first_words() -> None:
    untitled = Evidence(
        id="PMID:1", kind="literature", snippet="BACKGROUND: Lace plants perforate.", number=1
    )
    answer = make_answer(text="Yes [PMID:1].", citations=[Citation(id="PMID:1")], evidence=[untitled])
    assert "</a> BACKGROUND: Lace plants perforate.</summary>" in render.source_cards(answer)
    assert (
        "1. [PMID:1](https://pubmed.ncbi.nlm.nih.gov/1/) (literature) — BACKGROUND:"
        in render.export_markdown(answer)
    )


def test_a_sentence_without_a_citation_is_never_shown_as_supported() -> None:
    from bioagent.types import SentenceVerdict
    from bioagent.ui.render import verdict_label

    assert verdict_label(SentenceVerdict(sentence="Yes.", supported=True)) == "– kept, nothing to check"
    cited = SentenceVerdict(
        sentence="TP53 is a tumour suppressor.", citations=["UniProt:P04637"], supported=True
    )
    assert verdict_label(cited) == "✓ supported"
    assert verdict_label(SentenceVerdict(sentence="x", citations=["PMID:1"], supported=False)) == "✗ removed"


def test_tool_evidence_has_a_readable_title() -> None:
    from bioagent.agent.evidence import EvidenceSet

    evidence = EvidenceSet()
    assert evidence.add_tool_result("admet", {"facts": []}).title == "ADMET predictions (ADMET-AI)"
    assert evidence.add_tool_result("my_tool", {}).title == "my tool"


def test_a_corpus_citation_links_to_pubmed_or_its_doi_else_to_its_record_in_the_panel() -> None:
    from bioagent.agent.evidence import EvidenceSet
    from bioagent.types import Hit

    evidence = EvidenceSet()
    hits = {
        "doc:1": {"doi": "10.1000/xyz"},
        "doc:2": {"pmid": "123456", "doi": "10.1000/abc"},
        "doc:3": {},
    }
    for key, metadata in hits.items():
        evidence.add_hit(
            Hit(id=key[4:], score=0.9, rank=1, text="A claim.", source="scifact", metadata=metadata),
            0.9,
            "literature",
        )
    urls = [item.url for item in evidence.items]
    assert urls == ["https://doi.org/10.1000/xyz", "https://pubmed.ncbi.nlm.nih.gov/123456/", None]
    shown = render.link_citations("A [doc:1; doc:2; doc:3].", {item.id: item for item in evidence.items})
    assert 'href="https://doi.org/10.1000/xyz"' in shown and 'href="#evidence-doc-3"' in shown


def test_the_disorder_plot_draws_the_agents_disorder_result(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    sequence = "MEEPQSDPSV"
    protein = {"name": "query", "length": 10, "disorder": [0.9] * 10, "plddt": [30.0] * 10}
    protein["disordered_regions"] = [{"start": 1, "end": 10}]
    result = tool_result("disorder", {"proteins": [{**protein, "scores_ignored": [1]}]})
    assert [a.kind for a in result.artifacts] == ["series"] and "scores_ignored" not in result.artifacts[
        0
    ].data
    call = ToolCall(name="disorder", arguments={"sequence": sequence}, result=result)
    monkeypatch.setattr("bioagent.api.run_tool", lambda *args: pytest.fail("the tool ran again"))
    image = disorder_plot(make_answer(tool_calls=[call]), sequence, Settings())
    assert image.size == (616, 396)


@pytest.mark.slow
def test_the_disorder_plot_is_drawn_for_the_side_panel() -> None:
    sequence = "MEEPQSDPSVEPPLSQETFSDLWKLLPENNVLSPLPSQAMDDLMLSPDDIEQWFTEDPGP"
    image = disorder_plot(make_answer(tool_calls=[]), sequence, Settings())
    assert image.size == (
        616,
        396,
    )  # 5.6 x 3.6 inches at 110 dpi: fonts stay legible when scaled to the panel
