"""End to end, as a person would: `bioagent chat` on a free loopback port (scripted chat model, hash-embedder
indexes), driven in real headless Chromium. Needs Debian's chromium and the `playwright` package:

    apt-get install -y chromium && pip install playwright      # no `playwright install`: we use /usr/bin/chromium
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_ui_session import MITO_QUESTION, MITO_REPLY, build_ui_indexes, ui_config, ui_settings

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("BIOAGENT_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
USER, PASSWORD = "curie", "polonium-84"
LAUNCH = "import typer; from bioagent.cli.chat_cmd import chat_command; typer.run(chat_command)"
START_TIMEOUT_S = 120


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM}: apt-get install -y chromium"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed: pip install playwright"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_served(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"`bioagent chat` exited with {process.returncode}:\n{process.communicate()[0]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    pytest.fail(f"`bioagent chat` did not serve {url} within {START_TIMEOUT_S} s")


@pytest.fixture()
def chat_url(tmp_path: Path) -> Iterator[str]:
    """`bioagent chat --auth ... --config ...` serving tiny indexes with a one-reply scripted model."""
    if reason := _missing():
        pytest.skip(reason)
    build_ui_indexes(ui_settings(tmp_path, []))
    config = tmp_path / "chat.yaml"
    config.write_text(yaml.safe_dump(ui_config(tmp_path, [MITO_REPLY])), encoding="utf-8")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIOAGENT_")}
    env.update(GRADIO_ANALYTICS_ENABLED="False", NO_PROXY="127.0.0.1,localhost", TMPDIR=str(tmp_path))
    command = [
        sys.executable,
        "-c",
        LAUNCH,
        "--port",
        str(port),
        "--auth",
        f"{USER}:{PASSWORD}",
        "--config",
        str(config),
    ]
    process = subprocess.Popen(
        command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_served(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture()
def browser(tmp_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1400, "height": 1000},
            accept_downloads=True,
        )
        context.set_default_timeout(60_000)
        try:
            yield context
        finally:
            context.close()


def _log_in(page: Any, url: str) -> None:
    page.goto(url)
    page.get_by_label("username").fill(USER)
    page.get_by_label("password").fill(PASSWORD)
    page.get_by_role("button", name="Login").click()
    page.locator("#question textarea").wait_for()


def _ask(page: Any, question: str) -> None:
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()


def test_a_researcher_asks_a_demo_question(chat_url: str, browser: Any, tmp_path: Path) -> None:
    page = browser.new_page()
    page.goto(chat_url)
    assert page.locator("#question textarea").count() == 0  # the login page comes first

    _log_in(page, chat_url)
    _ask(page, MITO_QUESTION)
    link = page.locator('#chat a.cite[href="https://pubmed.ncbi.nlm.nih.gov/21645374/"]').first
    link.wait_for()
    assert "Mitochondria play a role" in page.locator("#chat").inner_text()
    assert "remodelling lace plant leaves" in (link.get_attribute("title") or "")  # the hover card
    evidence = page.locator("#evidence-panel .evidence-item").first
    evidence.wait_for()
    assert "PMID:21645374" in evidence.inner_text() and "relevance" in evidence.inner_text()
    page.screenshot(path=str(tmp_path / "chat.png"), full_page=True)
    assert (tmp_path / "chat.png").stat().st_size > 10_000

    with page.expect_download() as download:
        page.get_by_role("button", name="Export Markdown").click()
    exported = Path(download.value.path()).read_text(encoding="utf-8")
    assert exported.startswith(f"# {MITO_QUESTION}") and "## Evidence" in exported

    other = browser.new_page()  # a second session (the login cookie is shared): same server, own conversation
    other.goto(chat_url)
    other.locator("#question textarea").wait_for()
    assert "Mitochondria play a role" not in other.locator("#chat").inner_text()

    _ask(page, "And what about TP53?")  # the scripted model has no reply left: an error message, no dead page
    page.locator("#chat", has_text="no reply left").wait_for()
    assert page.locator("#question textarea").is_enabled()
