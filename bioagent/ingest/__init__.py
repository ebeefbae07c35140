"""Ingestion: literature and UniProt files, and live PubMed/UniProt queries, as :class:`Document`.

``read_documents(path)`` detects the format, keeps every good record and reports bad ones;
``chunk_documents`` splits long texts with stable ``<id>#<n>`` ids.
"""

from bioagent.errors import IngestError
from bioagent.ingest.chunking import chunk_documents
from bioagent.ingest.detect import FORMATS, detect_format
from bioagent.ingest.live import PubMedClient, RateLimiter, UniProtClient
from bioagent.ingest.reader import IngestResult, read_documents
from bioagent.ingest.tabular import ColumnMap

__all__ = [
    "FORMATS",
    "ColumnMap",
    "IngestError",
    "IngestResult",
    "PubMedClient",
    "RateLimiter",
    "UniProtClient",
    "chunk_documents",
    "detect_format",
    "read_documents",
]
