"""The reviewer's tools: PubMed exports in, duplicates reported, RIS out (labels kept), PRISMA-style counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bioagent.index.embedders import HashEmbedder
from bioagent.triage import TriageSession, load_records
from bioagent.triage.duplicates import duplicate_summary
from bioagent.triage.export import write_ris
from bioagent.triage.report import screening_report

# What PubMed's "Save > Format: PubMed" writes (MEDLINE tags), as pubmed-<query>-set.txt.
PUBMED_TXT = """\
PMID- 111
TI  - Oxybutynin versus tolterodine for overactive bladder: a randomised trial.
AB  - Adults with urge incontinence received oxybutynin or tolterodine. Continence improved with both drugs.
AU  - Smith J
AU  - Jones K
DP  - 2001 Mar
JT  - The Journal of Urology
LID - 10.1000/jurol.111 [doi]

PMID- 222
TI  - Pharmacokinetics of oxybutynin in healthy volunteers.
AB  - Twelve healthy volunteers took a single dose. Plasma levels were measured.
DP  - 1999
AID - 10.1000/pk.222 [doi]

PMID- 333
TI  - Oxybutynin versus tolterodine for overactive bladder - a randomised trial
AB  - The same trial, indexed twice. Continence improved with both drugs.
DP  - 2001

PMID- 444
TI  - Tolterodine extended release in older women with urge incontinence.
AB  - A trial in older women with urge incontinence. Tolterodine reduced episodes.
DP  - 2003
LID - 10.1000/PK.222 [doi]
"""

# What PubMed's "Save > CSV" writes: no abstracts, PMID first.
PUBMED_CSV = """\
PMID,Title,Authors,Citation,First Author,Journal/Book,Publication Year,Create Date,PMCID,NIHMS ID,DOI
111,Oxybutynin versus tolterodine for overactive bladder: a randomised trial.,"Smith J, Jones K",J Urol. 2001,Smith J,J Urol,2001,2001/03/01,,,10.1000/jurol.111
555,Darifenacin for overactive bladder in a twelve-week trial.,Lee A,Eur Urol. 2004,Lee A,Eur Urol,2004,2004/01/01,,,
111,Oxybutynin versus tolterodine for overactive bladder: a randomised trial.,"Smith J, Jones K",J Urol. 2001,Smith J,J Urol,2001,2001/03/01,,,10.1000/jurol.111
666,A different study with the same DOI as the first,Roe B,X. 2005,Roe B,X,2005,2005/01/01,,,https://doi.org/10.1000/JUROL.111
"""

CRITERIA = {
    "topic": "drug treatment of urinary incontinence",
    "inclusion": ["randomised trial of a drug for urge incontinence"],
    "exclusion": ["pharmacokinetics in healthy volunteers"],
}


@pytest.fixture()
def pubmed_txt(tmp_path: Path) -> Path:
    path = tmp_path / "pubmed-oxybutynin-set.txt"
    path.write_text(PUBMED_TXT, encoding="utf-8")
    return path


def test_pubmed_format_export_is_read_with_duplicates_by_title_and_doi(pubmed_txt: Path) -> None:
    records = load_records(pubmed_txt)
    assert records.format == "medline" and records.ids == ["111", "222", "333", "444"]
    assert records.duplicate_of == {"333": "111", "444": "222"}
    assert records.duplicate_key == {"333": "title", "444": "doi"}  # the DOI match ignores case
    assert duplicate_summary(records.duplicate_key).startswith(
        "2 duplicates set aside (1 by DOI, 1 by title)"
    )


def test_pubmed_csv_export_is_read_with_duplicates_by_pmid_and_doi(tmp_path: Path) -> None:
    path = tmp_path / "csv-oxybutynin-set.csv"
    path.write_text(PUBMED_CSV, encoding="utf-8")
    records = load_records(path)
    assert records.ids == ["111", "555", "111~2", "666"]
    assert records.get("555").title.startswith("Darifenacin")  # type: ignore[union-attr]
    assert records.duplicate_of == {"111~2": "111", "666": "111"}
    assert records.duplicate_key["666"] == "doi"  # a doi.org link and a bare DOI are the same DOI


def test_ris_export_keeps_labels_and_suggestions_and_reads_back(pubmed_txt: Path, tmp_path: Path) -> None:
    import rispy

    session = TriageSession(pubmed_txt, CRITERIA, embedder=HashEmbedder(32))
    session.label("111", "include")
    session.label("222", "exclude")
    out = session.export_ris(tmp_path / "screened.ris")
    text = out.read_text(encoding="utf-8")
    assert text.startswith("TY  - JOUR") and "\n1.\n" not in text  # strict importers want TY first
    entries = {e["id"]: e for e in rispy.loads(text)}
    assert set(entries) == {"111", "222", "333", "444"}  # duplicates are exported, marked
    assert "screening: included" in entries["111"]["keywords"]
    assert "screening: excluded" in entries["222"]["keywords"]
    assert any(k.startswith("screening: ") for k in entries["333"]["keywords"])
    assert "duplicate of 111" in entries["333"]["notes"][0]
    assert entries["111"]["doi"] == "10.1000/jurol.111" and entries["111"]["accession_number"] == "111"
    assert entries["111"]["authors"] == ["Smith J", "Jones K"]
    again = load_records(out)  # our own RIS reader takes it back, same ids and titles
    assert again.ids == [d.record_id for d in sorted(session.decisions(), key=lambda d: d.rank)]
    assert again.get("111").title == session.records.get("111").title  # type: ignore[union-attr]


def test_write_ris_is_atomic_on_failure(pubmed_txt: Path, tmp_path: Path, monkeypatch) -> None:
    session = TriageSession(pubmed_txt, CRITERIA, embedder=HashEmbedder(32))
    out = tmp_path / "screened.ris"
    out.write_text("previous export\n", encoding="utf-8")
    import rispy

    def broken(entries, **options):
        raise OSError("disk full")

    monkeypatch.setattr(rispy, "dumps", broken)
    with pytest.raises(OSError):
        write_ris(out, session.decisions(), session.records)
    assert out.read_text(encoding="utf-8") == "previous export\n"


def test_prisma_counts_and_stop_decision(pubmed_txt: Path) -> None:
    records = load_records(pubmed_txt)
    report = screening_report(records, {"111": 1, "222": 0, "333": 1}, target_recall=0.9, confidence=0.9)
    # 333 is a duplicate of 111: it is not screened twice, nor counted twice
    assert (report.identified, report.duplicates, report.screened) == (4, 2, 2)
    assert (report.included, report.excluded, report.remaining) == (1, 1, 0)
    assert report.may_stop  # nothing left to screen
    data = report.as_dict()
    assert data["may_stop"] is True and {c["rule"] for c in data["checks"]} >= {"hypergeometric", "safe"}
    assert "you may stop" in report.text()


def test_session_reports_recall_and_stop_after_each_batch(tmp_path: Path) -> None:
    docs = [
        {"id": str(n), "title": f"Record number {n} about topic {n % 7}", "text": f"Body {n}."}
        for n in range(300)
    ]
    session = TriageSession(docs, CRITERIA, embedder=HashEmbedder(32), target_recall=0.8, confidence=0.8)
    truth = {str(n): int(n < 10) for n in range(300)}
    for n in range(10):  # the includes first: what a perfect ranking shows
        session.label(str(n), truth[str(n)])
    assert not session.report().may_stop  # ten labels prove nothing about 290 unseen records
    for n in range(10, 300):
        session.label(str(n), truth[str(n)])
        if session.report().may_stop:
            break
    report = session.report()
    assert report.may_stop and report.remaining > 0  # it stops before the end
    assert report.statistical.recall_lower_bound is not None and report.statistical.recall_lower_bound >= 0.8


def test_session_refuses_a_bad_target(pubmed_txt: Path) -> None:
    from bioagent.errors import BioagentError

    with pytest.raises(BioagentError, match="target recall must lie between 0 and 1"):
        TriageSession(pubmed_txt, CRITERIA, embedder=HashEmbedder(32), target_recall=95)
