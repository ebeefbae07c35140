"""Files replaced atomically: after a kill or a power cut a file is either its old content or the complete new one.

Used by the index (manifests, shards, exported models) and by screening (outputs, reports, exports).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def fsync_folder(folder: Path) -> None:
    """Make a new or renamed entry of ``folder`` durable (skipped where folders cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_atomically(path: Path, write: Callable[[IO[Any]], object], *, text: bool = False) -> Path:
    """Write ``path`` through ``write`` under a unique temporary name beside it, fsync, rename, fsync the folder.

    ``write`` gets a binary file (a UTF-8 text file with ``newline=""`` when ``text``). If anything fails, the
    temporary file is removed and ``path`` keeps its previous content. A new file gets the usual permissions
    (an existing one keeps its own), not the private mode of temporary files.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _file_mode(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with open(
            fd, "w" if text else "wb", encoding="utf-8" if text else None, newline="" if text else None
        ) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)
    return path


def _file_mode(path: Path) -> int:
    """The mode of the existing ``path``, else what ``open`` would give a new file under the current umask."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0o077)  # reading the umask means setting it: briefly the strictest, never looser
        os.umask(umask)
        return 0o666 & ~umask


def replace_with_file(path: Path, produce: Callable[[Path], object]) -> Path:
    """Run ``produce(temporary)`` to write a file in a scratch folder beside ``path`` (side files may go there
    too), then fsync it, rename it into place and fsync the folder; on failure ``path`` is left as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.name}.") as scratch:
        temporary = Path(scratch) / path.name
        produce(temporary)
        with temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    fsync_folder(path.parent)
    return path
