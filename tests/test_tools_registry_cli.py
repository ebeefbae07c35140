"""The tool registry (LangChain tools, `tool list` metadata) and the `bioagent tool` command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bioagent.cli.tool_cmd import tool_app
from bioagent.errors import ToolInputError
from bioagent.settings import Settings
from bioagent.tools.registry import all_tools, get_tool, tool_list, tool_names

EXPECTED = [
    "protein_properties", "disorder", "homology_search", "uniprot_lookup", "variant_effect",
    "drug_lookup", "drug_properties", "admet", "similar_drugs",
]  # fmt: skip
FIELDS = {
    "protein_properties": {"sequence"},
    "disorder": {"sequence"},
    "homology_search": {"sequence", "k"},
    "variant_effect": {"sequence", "mutations"},
    "uniprot_lookup": {"query", "k"},
    "drug_lookup": {"name"},
    "drug_properties": {"smiles"},
    "admet": {"smiles"},
    "similar_drugs": {"smiles", "k"},
}
runner = CliRunner()


def test_registry_holds_every_tool_as_a_langchain_tool(settings: Settings) -> None:
    from langchain_core.tools import BaseTool

    tools = all_tools(settings)
    assert [t.name for t in tools] == EXPECTED == tool_names()
    for tool in tools:
        assert isinstance(tool, BaseTool) and len(tool.description) > 200
        assert FIELDS[tool.name] <= set(tool.args_schema.model_json_schema()["properties"])


def test_tools_return_json_and_raise_tool_input_errors(settings: Settings) -> None:
    tool = get_tool("drug_properties", settings)
    result = tool.invoke({"smiles": "CCO, c1ccccc1"})
    assert [m["smiles"] for m in result["molecules"]] == ["CCO", "c1ccccc1"]
    json.dumps(result)
    with pytest.raises(ToolInputError, match="not a valid SMILES"):
        tool.invoke({"smiles": "C1CC"})
    with pytest.raises(ToolInputError, match="unknown tool 'blast'; the tools are: protein_properties"):
        get_tool("blast", settings)


def test_tool_list_metadata_has_names_summaries_and_schemas() -> None:
    entries = tool_list()
    assert [e["name"] for e in entries] == EXPECTED
    for entry in entries:
        assert entry["summary"].endswith(".") and "\n" not in entry["summary"]
        assert entry["schema"]["type"] == "object"
        # every tool needs an argument; drug_lookup takes either a name or a SMILES, so neither is required
        either = {"name", "smiles"} if entry["name"] == "drug_lookup" else set()
        assert entry["schema"].get("required") or either <= set(entry["schema"]["properties"]) and either


def test_importing_the_tools_loads_no_model_library() -> None:
    code = (
        "import sys, bioagent.tools.registry, bioagent.cli.tool_cmd; "
        "print([m for m in ('torch', 'rdkit', 'metapredict', 'admet_ai', 'transformers', 'Bio.Align') "
        "if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ----- CLI ------------------------------------------------------------------------------------------------------


def test_cli_list_prints_every_tool_and_json_schemas() -> None:
    plain = runner.invoke(tool_app, ["list"])
    assert plain.exit_code == 0 and all(name in plain.stdout for name in EXPECTED)
    listed = json.loads(runner.invoke(tool_app, ["list", "--json"]).stdout)
    assert [e["name"] for e in listed] == EXPECTED


def test_cli_runs_a_tool_and_prints_json() -> None:
    result = runner.invoke(tool_app, ["protein_properties", "--json", "--sequence", "MKTAYIAKQRQISFVKSHFSRQ"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["proteins"][0]["length"] == 22


def test_cli_splits_comma_separated_lists_and_prints_readable_text() -> None:
    result = runner.invoke(tool_app, ["drug_properties", "--smiles", "CCO,c1ccccc1"])
    assert result.exit_code == 0 and "formula: C2H6O" in result.stdout and "formula: C6H6" in result.stdout
    effect = runner.invoke(
        tool_app, ["variant_effect", "--json", "--sequence", "MKTAYIAKQR", "--mutations", "K2A,T3W"]
    )
    assert json.loads(effect.stdout)["mutations"] == ["K2A", "T3W"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["variant_effect", "--sequence", "MKTAYIAKQR", "--mutations", "R2A"], "position 2 is K, not R"),
        (["protein_properties", "--sequence", "MKTJ"], "'J' at 4"),
        (["drug_properties", "--smiles", "C1CC"], "not a valid SMILES"),
        (["homology_search", "--sequence", "MKT", "--k", "many"], "--k: Input should be a valid integer"),
        (["drug_lookup", "--name", "qwertyzine", "--json"], "no drug named 'qwertyzine'"),
    ],
)
def test_cli_tool_errors_are_one_line_on_stderr_and_exit_non_zero(args: list[str], message: str) -> None:
    result = runner.invoke(tool_app, args)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and message in result.stderr
    if "--json" in args:
        assert message in json.loads(result.stdout)["error"]  # --json keeps stdout machine-readable
    else:
        assert result.stdout == ""


def test_cli_help_per_tool_lists_its_options() -> None:
    result = runner.invoke(tool_app, ["homology_search", "--help"])
    assert result.exit_code == 0
    for option in ("--sequence", "--k", "--max_evalue", "--json", "--config"):
        assert option in result.stdout


def test_cli_reads_the_protein_index_from_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BIOAGENT_EMBEDDING__BACKEND", raising=False)  # conftest's pin would outrank the file
    from bioagent.index import build_index
    from bioagent.index.embedders import HashEmbedder
    from bioagent.types import Document

    sequence = "MALWMRLLPLLALLALWGPDPAAAFVNQHLCGSHLVEALYLVCGERGFFYTPKTRREAEDLQVGQVELGGGPGAGSLQPLALEGSLQKRGIVEQCCTSICSLYQLENYCN"
    doc = Document(
        id="P01308",
        title="Insulin (INS) — Homo sapiens",
        source="uniprot",
        metadata={"accession": "P01308", "gene": "INS", "protein_name": "Insulin", "sequence": sequence},
    )
    settings = Settings.load(index_dir=tmp_path, cache_dir=tmp_path / "cache")
    build_index([doc], tmp_path / "proteins", settings, embedder=HashEmbedder(dimension=64))
    config = tmp_path / "config.yaml"
    config.write_text(
        f"protein_index: {tmp_path / 'proteins'}\nembedding:\n  backend: hash\n  hash_dimension: 64\n"
    )
    result = runner.invoke(tool_app, ["uniprot_lookup", "--query", "INS", "--json", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["entries"][0]["accession"] == "P01308"
