"""End to end, as a person would: `bioagent chat` on a free loopback port (scripted chat model, hash-embedder
indexes), driven in real headless Chromium. Needs Debian's chromium and the `playwright` package:

    apt-get install -y chromium && pip install playwright      # no `playwright install`: we use /usr/bin/chromium
"""

from __future__ import annotations

import os
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
from loopback import free_port
from test_ui_session import MITO_QUESTION, MITO_REPLY, build_ui_indexes, ui_config, ui_settings

from bioagent.settings import Settings
from bioagent.ui.app import EXAMPLES

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
    port = free_port()
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
    link.hover()
    popover = link.evaluate("e => getComputedStyle(e, '::after').content")
    assert "remodelling lace plant leaves" in popover
    assert link.evaluate("e => getComputedStyle(e).textDecorationLine") == "underline"
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


# ----- the chat as a researcher uses it: one in-process server, slowed down on request ---------------------

SLOW_MARK = "(slowly)"
"""A question containing this is streamed with a pause per agent event, so that it can be stopped."""
SCREENSHOT_NAMES = {0: "literature", 3: "drug", 5: "protein"}
"""Example questions (by position in ``EXAMPLES``) whose answers are saved as docs/chat-<name>-*.png."""
SCREENSHOTS_TO = "UI_SCREENSHOTS"
"""Set to a folder (e.g. ``docs``) to keep the example screenshots there; otherwise they go to a temp folder."""
JARGON = (
    "tool:",
    "literature_k",
    "min_relevance",
    "writer",
    "backend",
    "_search",
    "_lookup",
    "planned tools",
    "**",
)
"""Setting names and tool-internal phrases that must not reach the chat."""


def _slow_factory(settings: Any, parts: dict[str, Any]) -> Any:
    """``Agent.from_settings``, its stream paused per event for questions that contain :data:`SLOW_MARK`."""
    from bioagent.agent import Agent

    agent = Agent.from_settings(settings, **parts)
    stream = agent.stream

    def paced(question: str, *args: Any, **kwargs: Any) -> Iterator[Any]:
        for event in stream(question, *args, **kwargs):
            if SLOW_MARK in question:
                time.sleep(0.4)
            yield event

    agent.stream = paced  # type: ignore[method-assign]
    return agent


@pytest.fixture(scope="module")
def live_chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The chat served in this process on tiny indexes, evidence-written answers, no login."""
    if reason := _missing():
        pytest.skip(reason)
    from bioagent.ui.app import launch
    from bioagent.ui.session import SharedResources

    root = tmp_path_factory.mktemp("live-chat")
    build_ui_indexes(ui_settings(root, []))
    config = ui_config(root, [MITO_REPLY] * 40)
    settings = Settings.load(**{**config, "agent": {**config["agent"], "writer": "evidence"}})
    port = free_port()
    demo = launch(resources=SharedResources(settings, _slow_factory), port=port, block=False)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.fixture()
def page(live_chat: str, browser: Any) -> Any:
    page = browser.new_page()
    page.goto(live_chat)
    page.locator("#question textarea").wait_for()
    return page


def _ask_and_wait(page: Any, question: str) -> None:
    """Ask and wait until the turn is finished (its steps are titled "How it was answered")."""
    done = _chat_text(page).count("How it was answered")
    _ask(page, question)
    page.wait_for_function(
        f"document.querySelector('#chat').innerText.split('How it was answered').length > {done + 1}"
    )
    page.locator("#ask:not([disabled])").wait_for()
    page.locator("#stop").wait_for(state="hidden")
    page.wait_for_timeout(500)  # the last updates render


def _chat_text(page: Any) -> str:
    return str(page.locator("#chat").inner_text())


def test_enter_asks_and_shift_enter_adds_a_line(page: Any) -> None:
    box = page.locator("#question textarea")
    box.click()
    box.type("first line")
    box.press("Shift+Enter")
    box.type("second line")
    assert box.input_value() == "first line\nsecond line" and "first line" not in _chat_text(page)
    box.fill(MITO_QUESTION)
    box.press("Enter")
    page.locator("#chat a.cite").first.wait_for()
    assert "Mitochondria" in _chat_text(page) and box.input_value() == ""


def test_stop_cancels_the_running_question(page: Any) -> None:
    _ask(page, f"{SLOW_MARK} {MITO_QUESTION}")
    page.locator("#stop").wait_for(state="visible")
    assert page.locator("#ask").is_disabled()
    page.locator("#stop").click()
    page.locator("#stop").wait_for(state="hidden")
    time.sleep(4)  # longer than the rest of the slowed answer would take
    assert page.locator("#chat a.cite").count() == 0 and page.locator("#ask").is_enabled()
    _ask(page, MITO_QUESTION)  # Ask works again
    page.locator("#chat a.cite").first.wait_for()


def test_clearing_during_a_run_and_new_conversation_reset_everything(page: Any) -> None:
    _ask(page, f"{SLOW_MARK} {MITO_QUESTION}")
    page.locator("#stop").wait_for(state="visible")
    page.locator("#new-conversation").click()
    time.sleep(4)
    assert page.locator("#chat a.cite").count() == 0 and page.locator("#ask").is_enabled()

    for _ in range(2):
        _ask_and_wait(page, MITO_QUESTION)
    page.locator("#picker input").click()
    page.get_by_role("option").first.click()  # the Answer picker shows answer #1 again
    page.locator("#evidence-panel .evidence-item").first.wait_for()
    page.locator("#new-conversation").click()
    page.locator("#evidence-panel", has_text="Ask a question to see its evidence.").wait_for()
    time.sleep(1)
    assert page.locator("#picker input").input_value() == "" and page.locator(".toast-body").count() == 0
    assert page.locator("#chat a.cite").count() == 0 and page.locator("#summary").inner_text().strip() == ""
    assert not page.get_by_role("button", name="Export Markdown").is_visible()


def test_an_empty_question_is_a_notice_beside_the_box(page: Any) -> None:
    _ask_and_wait(page, MITO_QUESTION)
    before = _chat_text(page)
    _ask(page, "   ")
    page.locator("#notice", has_text="Please type a question first.").wait_for()
    assert _chat_text(page) == before


@pytest.mark.parametrize(("number", "question"), list(enumerate(EXAMPLES)))
def test_every_citation_is_a_link_and_the_chat_speaks_plainly(
    page: Any, number: int, question: str, tmp_path: Path
) -> None:
    """Each example question; the literature, drug and protein ones are also screenshot (desktop width with the
    evidence panel, 400 px wide with the tool panel): ``UI_SCREENSHOTS=docs pytest -k speaks`` makes
    docs/chat-*.png."""
    folder = Path(os.environ.get(SCREENSHOTS_TO) or tmp_path)
    _ask_and_wait(page, question)
    citations = page.locator("#chat .message .cite")
    for citation in citations.all():
        assert citation.evaluate("e => e.tagName") == "A" and citation.get_attribute("href")
    text = _chat_text(page)
    assert not [phrase for phrase in JARGON if phrase in text], text
    if name := SCREENSHOT_NAMES.get(number):
        assert citations.count() > 0
        page.locator("#evidence-panel .evidence-item").first.wait_for()
        page.wait_for_timeout(1500)  # pictures
        page.screenshot(path=str(folder / f"chat-{name}-desktop.png"))
        page.get_by_role("tab", name="Tool calls").click()  # the narrow shot shows the tool panel
        page.locator("#tool-calls").wait_for()
        page.set_viewport_size({"width": 400, "height": 900})
        page.screenshot(path=str(folder / f"chat-{name}-400px.png"), full_page=True)


def test_a_citation_without_a_public_page_opens_its_record_in_the_evidence_panel(page: Any) -> None:
    _ask_and_wait(page, EXAMPLES[3])  # the drug question cites ADMET-AI's predictions: no public page
    citation = page.locator('#chat .message a.cite[href^="#evidence-"]').first
    target = str(citation.get_attribute("href"))
    citation.click()
    record = page.locator(target)
    record.wait_for()
    assert record.is_visible() and page.url.endswith(target)
