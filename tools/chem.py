"""RDKit helpers shared by the drug tools: SMILES parsing with readable errors, fingerprints."""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from bioagent.errors import ToolInputError, require
from bioagent.settings import Settings

from .common import settings_or_default, split_items

MORGAN_RADIUS = 2
MORGAN_BITS = 2048
MAX_SMILES_CHARS = 2000


def rdkit() -> Any:
    """The ``rdkit.Chem`` module, or MissingExtraError naming the 'tools' extra."""
    return require("rdkit.Chem", "rdkit", "tools", "chemistry tools")


@contextmanager
def quiet_rdkit() -> Any:
    """Silence RDKit's stderr parse warnings (errors are reported through ToolInputError instead)."""
    from rdkit import rdBase

    rdBase.DisableLog("rdApp.*")
    try:
        yield
    finally:
        rdBase.EnableLog("rdApp.*")


def parse_smiles(smiles: str) -> Any:
    """An RDKit molecule from ``smiles``; ToolInputError says why it cannot be read."""
    chem = rdkit()
    text = smiles.strip().split(" |")[0].strip()  # drop a ChemAxon CXSMILES suffix
    if not text:
        raise ToolInputError(
            "SMILES is empty: give a molecule as SMILES (use drug_lookup to get one from a name)"
        )
    if len(text) > MAX_SMILES_CHARS:
        raise ToolInputError(f"SMILES is {len(text)} characters; the limit is {MAX_SMILES_CHARS}")
    with quiet_rdkit():
        mol = chem.MolFromSmiles(text, sanitize=False)
        if mol is None:
            raise ToolInputError(
                f"'{text}' is not a valid SMILES (RDKit cannot parse it: check atoms, brackets and ring closures; "
                "for a drug name, call drug_lookup first)"
            )
        try:
            chem.SanitizeMol(mol)
        except Exception as exc:  # RDKit raises several sanitization exception types
            raise ToolInputError(f"'{text}' is not a valid molecule: {str(exc).strip()}") from exc
    return mol


def parse_smiles_list(smiles: str | list[str], settings: Settings | None = None) -> list[tuple[str, Any]]:
    """(input SMILES, molecule) for each SMILES in a comma/newline separated string or list, within limits."""
    items = split_items(smiles)
    if not items:
        raise ToolInputError("no SMILES given: pass one or more SMILES separated by commas")
    limit = settings_or_default(settings).tools.max_batch
    if len(items) > limit:
        raise ToolInputError(
            f"got {len(items)} molecules; the limit is {limit} per call (settings.tools.max_batch)"
        )
    return [(item, parse_smiles(item)) for item in items]


def canonical_smiles(mol: Any) -> str:
    return str(rdkit().MolToSmiles(mol))


def inchikey(mol: Any) -> str:
    with quiet_rdkit():
        return str(rdkit().MolToInchiKey(mol) or "")


def inchikey_skeleton(key: str) -> str:
    """The first InChIKey block: the connectivity, without stereochemistry, isotopes or protonation."""
    return key.split("-")[0]


def parent_molecule(mol: Any) -> Any:
    """The parent of a salt or mixture: the largest organic fragment, neutralised where possible.

    'imatinib mesylate' (two fragments) -> imatinib; sodium salicylate -> salicylic acid.
    """
    from rdkit.Chem.MolStandardize import rdMolStandardize

    with quiet_rdkit():
        try:
            largest = rdMolStandardize.LargestFragmentChooser(preferOrganic=True).choose(mol)
            return rdMolStandardize.Uncharger().uncharge(largest)
        except (
            Exception
        ):  # RDKit raises several types on exotic input; the molecule itself is then its parent
            return mol


def formula(mol: Any) -> str:
    from rdkit.Chem import rdMolDescriptors

    return str(rdMolDescriptors.CalcMolFormula(mol))


def morgan_fingerprint(mol: Any) -> Any:
    """Morgan (ECFP4-like) bit vector, radius 2, 2048 bits."""
    return _morgan_generator().GetFingerprint(mol)


@lru_cache(maxsize=1)
def _morgan_generator() -> Any:
    from rdkit.Chem import rdFingerprintGenerator

    return rdFingerprintGenerator.GetMorganGenerator(radius=MORGAN_RADIUS, fpSize=MORGAN_BITS)


def depiction_svg(smiles: str, width: int = 360, height: int = 260) -> str:
    """A 2D depiction of ``smiles`` as SVG (RDKit); ToolInputError when it is not a molecule."""
    mol = parse_smiles(smiles)  # raises MissingExtraError (naming the extra) without RDKit
    from rdkit.Chem.Draw import rdMolDraw2D

    drawer = rdMolDraw2D.MolDraw2DSVG(width, height)
    options: Any = drawer.drawOptions()
    options.clearBackground = False
    rdMolDraw2D.PrepareAndDrawMolecule(drawer, mol)
    drawer.FinishDrawing()
    svg = drawer.GetDrawingText()
    return str(svg[svg.find("<svg") :])
