"""protein_properties, disorder and variant_effect: real models (Biopython, metapredict, a tiny ESM) and bad input."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from bioagent.errors import ConfigError, ToolInputError
from bioagent.settings import Settings
from bioagent.tools.common import parse_sequences
from bioagent.tools.disorder import disorder
from bioagent.tools.protein_properties import protein_properties
from bioagent.tools.variant_effect import parse_mutations, variant_effect

# Human p53 (UniProt P04637), the textbook case: disordered N-terminus, folded DNA-binding domain.
P53 = (
    "MEEPQSDPSVEPPLSQETFSDLWKLLPENNVLSPLPSQAMDDLMLSPDDIEQWFTEDPGPDEAPRMPEAAPPVAPAPAAPTPAAPAPAPSWPLSSSVPSQKTYQGSYGF"
    "RLGFLHSGTAKSVTCTYSPALNKMFCQLAKTCPVQLWVDSTPPPGTRVRAMAIYKQSQHMTEVVRRCPHHERCSDSDGLAPPQHLIRVEGNLRVEYLDDRNTFRHSVVV"
    "PYEPPEVGSDCTTIHYNYMCNSSCMGGMNRRPILTIITLEDSSGNLLGRNSFEVRVCACPGRDRRTEEENLRKKGEPHHELPPGSTKRALPNNTSSSPQPKKKPLDGEYF"
    "TLQIRGRERFEMFRELNEALELKDAQAGKEPGGSRAHSSHLKSKKGQSTSRHKKLMFKTEGPDSD"
)


# ----- input checks shared by the protein tools ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "sequence is empty"),
        ("   \n", "sequence is empty"),
        ("MKTAYIAKQRQISFVKSHFJRQ", "'J' at 20"),
        ("MKT AYI\n12", "'1' at 7"),
        (
            "A" * 100_000,
            "sequence is 100000 residues; the limit is 5000 (settings.tools.max_sequence_length)",
        ),
    ],
)
def test_bad_sequences_are_refused_with_a_readable_reason(text: str, message: str) -> None:
    with pytest.raises(ToolInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        protein_properties(text)


def test_fasta_with_several_records_is_read_and_named() -> None:
    records = parse_sequences(">sp|P1|A some protein\nMKT\nAYI\n>second\nmkvl*\n")
    assert [(r.name, r.sequence) for r in records] == [("sp|P1|A", "MKTAYI"), ("second", "MKVL")]


def test_batch_limit_is_stated(settings: Settings) -> None:
    small = settings.model_copy(update={"tools": settings.tools.model_copy(update={"max_batch": 2})})
    with pytest.raises(ToolInputError, match=r"got 3 sequences; the limit is 2"):
        parse_sequences(">a\nMK\n>b\nMK\n>c\nMK", small)


# ----- protein_properties (Biopython, fast) ----------------------------------------------------------------


def test_protein_properties_of_p53_match_protparam() -> None:
    result = protein_properties(P53)
    p53 = result["proteins"][0]
    assert p53["length"] == 393
    assert p53["molecular_weight_da"] == pytest.approx(43653.2, abs=1.0)  # UniProt: 43,653 Da
    assert 6.0 < p53["isoelectric_point"] < 7.0
    assert p53["instability_index"] > 40 and p53["stable_in_vitro"] is False
    assert "Biopython" in result["model"] and result["model_version"]
    assert set(result["meaning"]) >= {"gravy", "isoelectric_point", "instability_index"}
    json.dumps(result)


def test_nonstandard_residues_are_ignored_with_a_note() -> None:
    result = protein_properties(">x\nMKTAYXU\n>y\nMKTAY")
    with_x, plain = result["proteins"]
    assert with_x["length"] == 7 and "ignored non-standard residues" in with_x["note"]
    assert with_x["molecular_weight_da"] == plain["molecular_weight_da"]


# ----- disorder (metapredict) --------------------------------------------------------------------------------


def test_disorder_refuses_bad_input() -> None:
    with pytest.raises(ToolInputError, match="'J' at 3"):
        disorder("MKJAYI")


@pytest.mark.slow
def test_disorder_of_p53_finds_the_disordered_termini() -> None:
    result = disorder(f">p53\n{P53}\n>short\nMEEPQSDPSVEPPLSQ", plot=True)
    p53 = result["proteins"][0]
    assert len(p53["disorder"]) == len(p53["plddt"]) == 393
    assert all(0.0 <= s <= 1.0 for s in p53["disorder"]) and all(0 <= s <= 100 for s in p53["plddt"])
    regions = p53["disordered_regions"]
    assert regions[0]["start"] == 1 and regions[0]["end"] > 60  # transactivation domain
    assert any(r["start"] <= 300 and r["end"] == 393 for r in regions)  # C-terminal tail
    assert any(f["start"] < 120 and f["end"] > 280 for f in p53["folded_regions"])  # DNA-binding domain
    assert sum(p53["disorder"][110:280]) / 170 < 0.3 < sum(p53["disorder"][:60]) / 60
    assert "metapredict" in result["model"] and result["threshold"] == 0.5
    for protein in result["proteins"]:
        assert base64.b64decode(protein["plot"]["base64"]).startswith(b"\x89PNG")
    json.dumps(result)


# ----- variant_effect (ESM-2) --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutations", "message"),
    [
        ("R175Q,P175H", "position 175 is R, not P"),
        ("R175", "'R175' is not a substitution"),
        ("R999H", "position 999 is outside the 393-residue sequence"),
        ("R175J", "'J' is not one of the 20 standard amino acids"),
        ("", "no mutations given"),
    ],
)
def test_malformed_substitutions_are_refused(mutations: str, message: str) -> None:
    with pytest.raises(ToolInputError, match=message):
        variant_effect(P53, mutations)


def test_substitutions_parse_from_text_or_list() -> None:
    parsed = parse_mutations("r175h, P72R", P53, limit=10)
    assert [(s.wild_type, s.position, s.mutant) for s in parsed] == [("R", 175, "H"), ("P", 72, "R")]
    assert parse_mutations(["R175H"], P53, limit=10)[0].text == "R175H"


def test_without_esm_weights_the_result_says_not_configured_and_has_no_score(settings: Settings) -> None:
    result = variant_effect(P53, "R175H", settings=settings)
    assert result["configured"] is False and result["model"] is None
    assert "scores" not in result and "esm_model" in result["message"]


def _tiny_esm(folder: Path, max_positions: int = 1026) -> Path:
    """A randomly initialised 1-layer ESM-2 and its tokenizer saved with transformers."""
    import torch
    from transformers import EsmConfig, EsmForMaskedLM, EsmTokenizer

    vocab = ["<cls>", "<pad>", "<eos>", "<unk>", *"LAGVSERTIDPKQNFYMHWCXBUZO.-", "<null_1>", "<mask>"]
    (folder / "vocab.txt").write_text("\n".join(vocab))
    torch.manual_seed(0)
    config = EsmConfig(
        vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        max_position_embeddings=max_positions, pad_token_id=1, mask_token_id=32, position_embedding_type="rotary",
        token_dropout=True, emb_layer_norm_before=False,
    )  # fmt: skip
    EsmForMaskedLM(config).save_pretrained(folder)
    EsmTokenizer(str(folder / "vocab.txt")).save_pretrained(folder)
    return folder


@pytest.mark.slow
def test_masked_marginal_scores_from_a_tiny_esm_match_a_direct_computation(tmp_path: Path) -> None:
    import torch

    from bioagent.tools.variant_effect import load_esm

    settings = Settings.load(tools={"esm_model": str(_tiny_esm(tmp_path))})
    sequence = P53[:120]
    result = variant_effect(sequence, "P72R,M1A", settings=settings)
    assert result["configured"] is True and "ESM-2" in result["model"]
    tokenizer, model = load_esm(str(tmp_path), True)
    ids = tokenizer(sequence, return_tensors="pt")["input_ids"]
    ids[0, 72] = tokenizer.mask_token_id
    with torch.inference_mode():
        log_probs = torch.log_softmax(model(input_ids=ids).logits[0, 72], dim=-1)
    expected = (
        log_probs[tokenizer.convert_tokens_to_ids("R")] - log_probs[tokenizer.convert_tokens_to_ids("P")]
    )
    score = result["scores"][0]
    assert score["mutation"] == "P72R" and score["score"] == pytest.approx(float(expected), abs=1e-3)
    assert score["score"] == pytest.approx(score["log_prob_mutant"] - score["log_prob_wild_type"], abs=1e-3)


@pytest.mark.slow
def test_unloadable_esm_weights_are_a_config_error_naming_the_setting(tmp_path: Path) -> None:
    settings = Settings.load(tools={"esm_model": str(tmp_path / "missing")})
    with pytest.raises(ConfigError, match="cannot load ESM-2 weights from settings.tools.esm_model="):
        variant_effect(P53, "R175H", settings=settings)


@pytest.mark.slow
def test_long_sequences_are_scored_in_a_window_the_model_fits(tmp_path: Path) -> None:
    settings = Settings.load(tools={"esm_model": str(_tiny_esm(tmp_path, max_positions=66))})
    result = variant_effect(P53, "M1A,R175H,D393A", settings=settings)
    assert [s["position"] for s in result["scores"]] == [1, 175, 393]
    assert all(isinstance(s["score"], float) for s in result["scores"])
