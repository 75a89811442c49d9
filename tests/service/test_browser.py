"""The web page in headless Chromium: classify (highlighted claims) and compare (story table).

The tiny model is random, so the classify assertions are about structure (every
claim highlighted with its label's class, counts that add up), not which labels.
The story view runs on keyword labels and word-overlap groups, so its table is
known cell by cell.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from model.classifier import ClaimClassifier
from model.labels import LABELS
from service.app import create_app
from tests.service.support import KeywordClassifier, WordEmbedder, make_settings, served

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
    with served(create_app(settings, classifier=tiny_classifier)) as url:
        yield url


@pytest.fixture(scope="module")
def story_url(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(tiny_model_dir, tmp_path_factory.mktemp("story"))
    app = create_app(settings, classifier=KeywordClassifier(), embedder=WordEmbedder())
    with served(app) as url:
        yield url


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


@contextmanager
def _opened(browser: object, url: str) -> Iterator[object]:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(url)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def page(browser: object, base_url: str) -> Iterator[object]:
    with _opened(browser, base_url) as opened:
        yield opened


@pytest.fixture
def story_page(browser: object, story_url: str) -> Iterator[object]:
    with _opened(browser, f"{story_url}/#compare") as opened:
        yield opened


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
    assert message.startswith("Error 413")  # every size limit is a 413
    assert f"the limit is {MAX_CHARS} characters per text" in message
    assert page.locator("#results mark").count() == 0


def test_empty_input_is_refused_before_calling_the_api(page: object) -> None:
    page.fill("#input-text", "  \n---\n  ")
    page.click("#classify-button")
    assert "Paste some text" in page.locator("#error").inner_text()


def test_a_claim_label_is_corrected_from_the_page(page: object, base_url: str) -> None:
    page.locator("#model-info").filter(has_text="Model:").wait_for()
    page.fill("#input-text", FIRST)
    page.click("#classify-button")
    page.locator("#summary").wait_for(state="visible")
    mark = page.locator("#results mark.claim").nth(1)
    given = mark.get_attribute("data-label")
    # The control opens from the keyboard too: a claim is a button.
    mark.focus()
    page.keyboard.press("Enter")
    form = page.locator("#feedback-form")
    form.wait_for(state="visible")
    assert page.locator("#feedback-claim").inner_text() == "Moscow denied the reports at the time."
    assert page.locator("#feedback-given").inner_text() == given
    options = page.locator("#feedback-label option").evaluate_all("os => os.map(o => o.value)")
    assert options == LABEL_NAMES
    right = "denial" if given != "denial" else "caveat"
    page.select_option("#feedback-label", right)
    page.fill("#feedback-note", "Moscow rejects the reports")
    page.click("#feedback-button")

    status = page.locator("#feedback-status")
    status.filter(has_text="Correction saved").wait_for()
    assert f"the model said {given}, you said {right}" in status.inner_text()
    assert form.is_hidden()
    assert mark.get_attribute("data-corrected") == right
    # The service stored and counted it: the page sent what the reader chose.
    metrics = page.request.get(f"{base_url}/metrics").text()
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
    }
    pair = frozenset({"model_label": given, "correct_label": right}.items())
    assert samples[("claimstance_corrections_total", pair)] == 1

    # Sending the same correction again stores nothing new.
    mark.click()
    form.wait_for(state="visible")
    page.select_option("#feedback-label", right)
    page.fill("#feedback-note", "Moscow rejects the reports")
    page.click("#feedback-button")
    status.filter(has_text="already saved").wait_for()


# --- the story view: one story across outlets ----------------------------------------

STORY_DENIAL = "North Korea said it had never sold weapons to Russia."
STORY_ASSERTED = "Russia is buying artillery shells from North Korea."
STORY_HEDGED = "Russia may be buying artillery shells from North Korea."
# Decoded by cleaning into a literal tag inside cnn's denial: it must stay text in its cell.
TAG = "<img src=x onerror=window.__pwned=1>"
CNN_DENIAL = f"North Korea said it had never sold weapons to Russia {TAG}."
# As the form takes them: "---" between articles, an optional first line "id: name".
# The second outlet's name is markup too; the third has no name line.
PASTED_STORY = (
    f"id: bbc\n{STORY_DENIAL} {STORY_ASSERTED}\n"
    "---\n"
    f"id: <b>cnn</b>\n{CNN_DENIAL.replace('<', '&lt;').replace('>', '&gt;')}\n\n"
    "The weather in Pyongyang was mild.\n"
    "---\n"
    f"{STORY_DENIAL} {STORY_HEDGED}"
)
OUTLETS = ["bbc", "<b>cnn</b>", "Article 3"]

_CELLS_JS = """rows => rows.map(row => ({
    classes: [...row.classList],
    disagreement: row.dataset.disagreement,
    header: row.querySelector('th').textContent,
    cells: [...row.querySelectorAll('td')].map(td => ({
        document: td.dataset.document, label: td.dataset.label ?? null,
        classes: [...td.classList], text: td.textContent, title: td.title}))}))"""


def _compare(page: object, pasted: str) -> None:
    page.fill("#story-text", pasted)
    page.click("#compare-button")


def test_story_table_shows_groups_by_outlet_with_labels(story_page: object) -> None:
    assert story_page.locator("#classify-panel").is_hidden()
    assert story_page.get_attribute("#tab-story", "aria-selected") == "true"
    _compare(story_page, PASTED_STORY)
    story_page.locator("#story-groups").wait_for(state="visible")

    assert story_page.locator("#story-heading").inner_text() == (
        "2 claim groups across 3 outlets (1 with disagreement)"
    )
    headers = story_page.locator("#story-table thead th").all_inner_texts()
    assert headers == ["Group", *OUTLETS]

    rows = story_page.locator("#story-table tbody tr").evaluate_all(_CELLS_JS)
    # The disagreement comes first though its claims come second in every article.
    assert [row["disagreement"] for row in rows] == ["true", "false"]
    assert "disagreement" in rows[0]["classes"] and "disagreement" not in rows[1]["classes"]
    # Each row names its group in one line and counts the outlets asserting, denying, hedging.
    assert rows[0]["header"].startswith("#1disagree")
    assert rows[0]["header"].endswith("1 assert · 0 deny · 1 hedge")
    assert rows[1]["header"].startswith("#2")
    assert rows[1]["header"].endswith("0 assert · 3 deny · 0 hedge")
    proposition = story_page.locator("#story-table tbody tr th .proposition").all_inner_texts()
    assert len(proposition) == 2 and all(proposition)
    assert [[cell["document"] for cell in row["cells"]] for row in rows] == [OUTLETS, OUTLETS]
    assert [[cell["label"] for cell in row["cells"]] for row in rows] == [
        ["assertion", None, "caveat"],
        ["denial", "denial", "denial"],
    ]
    for row in rows:
        for cell in row["cells"]:
            if cell["label"] is None:  # the outlet does not carry the claim
                assert "empty" in cell["classes"]
                assert cell["text"] == ""
            else:
                assert f"label-{cell['label']}" in cell["classes"]
                for name in LABEL_NAMES:
                    assert f"{name}: " in cell["title"]
    assert [cell["text"] for cell in rows[0]["cells"]] == [STORY_ASSERTED, "", STORY_HEDGED]
    assert [cell["text"] for cell in rows[1]["cells"]] == [STORY_DENIAL, CNN_DENIAL, STORY_DENIAL]
    assert rows[0]["cells"][2]["title"] == (
        f"Article 3: caveat\n\n{STORY_HEDGED}\ncaveat  ·  "
        "assertion: 10.0%  ·  denial: 10.0%  ·  caveat: 80.0%"
    )

    # Markup in an id and in a claim stayed text: no element was made from either.
    assert story_page.locator("#story-output b, #story-output img").count() == 0
    assert story_page.evaluate("window.__pwned") is None

    counts = story_page.locator("#story-counts tbody tr").evaluate_all(
        "rows => rows.map(row => [...row.children].map(cell => cell.textContent))"
    )
    # outlet, claims, assertion, denial, caveat, groups it is in
    assert counts == [
        ["bbc", "2", "1", "1", "0", "2"],
        ["<b>cnn</b>", "2", "1", "1", "0", "1"],
        ["Article 3", "2", "0", "1", "1", "2"],
    ]


def test_story_from_uploaded_files(story_page: object) -> None:
    files = [
        {"name": name, "mimeType": "text/plain", "buffer": text.encode()}
        for name, text in [
            ("reuters.txt", f"{STORY_DENIAL} The weather was mild."),
            ("ap.txt", f"Earlier: {STORY_DENIAL}"),
        ]
    ]
    story_page.set_input_files("#story-files", files)
    _compare(story_page, "")
    story_page.locator("#story-groups").wait_for(state="visible")
    headers = story_page.locator("#story-table thead th").all_inner_texts()
    assert headers == ["Group", "reuters", "ap"]
    labels = story_page.locator("#story-table tbody td").evaluate_all(
        "cells => cells.map(cell => cell.dataset.label)"
    )
    assert labels == ["denial", "denial"]


def test_tabs_switch_modes_and_story_errors_are_shown(browser: object, story_url: str) -> None:
    with _opened(browser, story_url) as page:
        assert page.locator("#story-panel").is_hidden()
        page.click("#tab-story")
        assert page.locator("#story-panel").is_visible()
        assert page.locator("#classify-panel").is_hidden()
        assert page.locator("#legend li").count() == len(LABEL_NAMES)  # shared by both modes

        _compare(page, STORY_DENIAL)
        assert "at least two articles" in page.locator("#story-error").inner_text()

        _compare(page, f"id: x\n{STORY_DENIAL}\n---\nid: x\n{STORY_HEDGED}")
        error = page.locator("#story-error")
        error.wait_for(state="visible")
        page.wait_for_function("!document.querySelector('#compare-button').disabled")
        assert error.inner_text().startswith("Error 422")
        assert 'document ids must be unique; repeated: "x"' in error.inner_text()
        assert page.locator("#story-groups").is_hidden()

        page.click("#tab-classify")
        assert page.locator("#classify-panel").is_visible()
        assert page.locator("#story-output").is_hidden()


# --- with API keys: the page is served, its calls carry the key its user types in ----------

PAGE_KEY = "page-key-77e1"


@pytest.fixture(scope="module")
def keyed_url(
    tiny_model_dir: Path, tiny_classifier: ClaimClassifier, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    settings = make_settings(tiny_model_dir, tmp_path_factory.mktemp("keyed"), api_keys=[PAGE_KEY])
    with served(create_app(settings, classifier=tiny_classifier)) as url:
        yield url


def test_with_keys_the_page_asks_for_one_and_then_works(browser: object, keyed_url: str) -> None:
    with _opened(browser, keyed_url) as page:
        key_form = page.locator("#key-form")
        key_form.wait_for(state="visible")
        assert "needs an API key" in page.locator("#key-message").inner_text()
        page.fill("#api-key", "not-the-key")
        page.click("#key-button")
        page.locator("#key-message").filter(has_text="refused").wait_for()

        page.fill("#api-key", PAGE_KEY)
        page.click("#key-button")
        page.locator("#model-info").filter(has_text="Model:").wait_for()
        assert key_form.is_hidden()
        page.fill("#input-text", FIRST)
        page.click("#classify-button")
        page.locator("#summary").wait_for(state="visible")
        assert page.locator("#results mark.claim").count() == 3
        # The key lives in this tab's session storage only, never in the page's URL or markup.
        assert page.evaluate("sessionStorage.getItem('claimstance-api-key')") == PAGE_KEY
        assert page.evaluate("localStorage.length") == 0
        assert PAGE_KEY not in page.url and PAGE_KEY not in page.content()


# --- attribution: who makes each claim's move, under the claim and per story group -------------


def test_each_claim_shows_its_source_and_cue_under_it(page: object) -> None:
    page.fill("#input-text", FIRST)
    page.click("#classify-button")
    page.locator("#summary").wait_for(state="visible")
    marks = page.locator("#results mark.claim")
    shown = marks.evaluate_all(
        """marks => marks.map(m => ({
            text: m.textContent,
            source: m.querySelector('.source')?.textContent ?? null,
            cue: m.querySelector('.cue')?.textContent ?? null,
            line: m.nextElementSibling.classList.contains('attribution')
                ? m.nextElementSibling.textContent : null}))"""
    )
    assert [(s["source"], s["cue"], s["line"]) for s in shown] == [
        ("US officials", "said", "US officials (role) · said"),
        ("Moscow", "denied", "Moscow (organisation) · denied"),
        (None, None, "no source named in the sentence"),
    ]
    # Highlighting the cue keeps the claim's words whole (corrections send them).
    assert shown[1]["text"] == "Moscow denied the reports at the time."
    assert page.locator("#results .attribution").count() == marks.count()


def test_the_story_view_lists_who_asserts_denies_and_hedges_each_group(story_page: object) -> None:
    _compare(story_page, PASTED_STORY)
    story_page.locator("#story-sources").wait_for(state="visible")
    groups = story_page.locator("#story-sources-list > li").evaluate_all(
        """items => items.map(item => ({
            name: item.querySelector('.group-name').textContent,
            stances: [...item.querySelectorAll('.stances li')].map(
                li => [li.dataset.label, li.textContent])}))"""
    )
    # The disagreement first, as in the table; the hedge and the assertion name nobody.
    assert [group["name"].split(" ", 1)[0] for group in groups] == ["#1", "#2"]
    assert groups[0]["stances"] == [
        ["assertion", "asserts: no source named (1 outlet)"],
        ["caveat", "hedges: no source named (1 outlet)"],
    ]
    assert groups[1]["stances"] == [["denial", "denies: North Korea (3 outlets)"]]
    assert story_page.locator("#story-sources b, #story-sources img").count() == 0
