"""The web page in headless Chromium: paste, classify, see highlighted claims and counts.

The tiny model is random, so the assertions are about structure (every claim
highlighted with its label's class, counts that add up), not which labels.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from model.classifier import ClaimClassifier
from model.labels import LABELS
from service.app import create_app
from tests.service.support import make_settings

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MAX_CHARS = 2_000
LABEL_NAMES = [label.value for label in LABELS]

# The escaped tag is decoded by cleaning into a literal "<img ...>" in the text the
# page renders: it must show as text, never become an element that runs its handler.
FIRST = (
    "US officials said Russia was buying rockets and artillery shells from North Korea. "
    "Moscow denied the reports at the time.\n\n"
    "&lt;img src=x onerror=window.__pwned=1&gt; The purchases had not yet been completed."
)
# An astral character before a claim: the page must map code-point offsets correctly.
SECOND = (
    "📰 Kirby said there was no evidence. Moscow denied it again.\n\n"
    "© 2022 BBC. All rights reserved."
)


@pytest.fixture(scope="module")
def base_url(
    tiny_model_dir: Path, tiny_classifier: ClaimClassifier, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    settings = make_settings(
        tiny_model_dir, tmp_path_factory.mktemp("browser"), max_chars=MAX_CHARS
    )
    app = create_app(settings, classifier=tiny_classifier)
    # Bound here and handed to uvicorn, so no other process can take the port in between.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.is_file():
        pytest.skip(f"Debian Chromium is not installed at {CHROMIUM} (run `make browser-deps`)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser: object, base_url: str) -> Iterator[object]:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(base_url)
    try:
        yield page
    finally:
        context.close()


def test_classify_highlights_claims_with_labels_and_counts(page: object) -> None:
    page.locator("#model-info").filter(has_text="Model:").wait_for()
    legend = page.locator("#legend li")
    assert legend.evaluate_all("items => items.map(i => i.dataset.label)") == LABEL_NAMES

    page.fill("#input-text", f"{FIRST}\n---\n{SECOND}")
    page.click("#classify-button")
    page.locator("#summary").wait_for(state="visible")

    articles = page.locator("#results section.article")
    assert articles.count() == 2
    marks = page.locator("#results mark.claim")
    claims = marks.evaluate_all(
        """marks => marks.map(m => ({
            text: m.textContent, label: m.dataset.label,
            classes: [...m.classList], title: m.title,
            article: Number(m.closest('section.article').dataset.index)}))"""
    )
    assert [(claim["article"], claim["text"]) for claim in claims] == [
        (0, "US officials said Russia was buying rockets and artillery shells from North Korea."),
        (0, "Moscow denied the reports at the time."),
        (0, "<img src=x onerror=window.__pwned=1> The purchases had not yet been completed."),
        (1, "📰 Kirby said there was no evidence."),
        (1, "Moscow denied it again."),
    ]
    for claim in claims:
        assert claim["label"] in LABEL_NAMES
        assert f"label-{claim['label']}" in claim["classes"]
        # The hover text gives every label's probability.
        for name in LABEL_NAMES:
            assert f"{name}: " in claim["title"]
        assert claim["title"].count("%") == len(LABEL_NAMES)

    # The escaped tag stayed text: no element was made from it and its handler never ran.
    assert page.locator("#results img").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert "<img src=x" in articles.nth(0).locator(".article-text").inner_text()
    # Unhighlighted text is kept around the claims.
    assert "© 2022 BBC" in articles.nth(1).inner_text()

    counts = {
        name: int(page.locator(f'#counts li[data-label="{name}"] .count').inner_text())
        for name in LABEL_NAMES
    }
    assert counts == {name: [c["label"] for c in claims].count(name) for name in LABEL_NAMES}
    assert sum(counts.values()) == len(claims)

    # Colours differ per label, as a reader sees them.
    backgrounds = page.evaluate(
        """names => names.map(n => {
            const probe = document.createElement('mark');
            probe.className = `claim label-${n}`;
            document.body.append(probe);
            const colour = getComputedStyle(probe).backgroundColor;
            probe.remove();
            return colour;
        })""",
        LABEL_NAMES,
    )
    assert len(set(backgrounds)) == len(LABEL_NAMES)


def test_api_errors_are_shown_readably(page: object) -> None:
    page.fill("#input-text", "x" * (MAX_CHARS + 1))
    page.click("#classify-button")
    error = page.locator("#error")
    error.wait_for(state="visible")
    message = error.inner_text()
    assert message.startswith("Error 422")
    assert f"the limit is {MAX_CHARS} characters per text" in message
    assert page.locator("#results mark").count() == 0


def test_empty_input_is_refused_before_calling_the_api(page: object) -> None:
    page.fill("#input-text", "  \n---\n  ")
    page.click("#classify-button")
    assert "Paste some text" in page.locator("#error").inner_text()
