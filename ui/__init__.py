"""The Gradio chat (installed as ``bioagent.ui``): a thin layer over :class:`bioagent.Agent`.

    from bioagent.ui import build_app, launch
    launch(host="127.0.0.1", port=7860)          # what `bioagent chat` runs

Importing this package does not import Gradio; building the app does.
"""

from __future__ import annotations

from typing import Any


def build_app(*args: Any, **kwargs: Any) -> Any:
    """The chat as a ``gradio.Blocks`` (see :func:`bioagent.ui.app.build_app`)."""
    from .app import build_app as _build_app

    return _build_app(*args, **kwargs)


def launch(*args: Any, **kwargs: Any) -> Any:
    """Serve the chat (see :func:`bioagent.ui.app.launch`)."""
    from .app import launch as _launch

    return _launch(*args, **kwargs)


__all__ = ["build_app", "launch"]
