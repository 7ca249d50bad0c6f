"""The HTML view in a real headless browser (Debian chromium driven by Playwright)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ponder.report.tree_view import write_tree_html
from tests.runtime.test_tree_view import sample_tree

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"
    ),
]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright for Python")
    out = write_tree_html(
        sample_tree(),
        tmp_path_factory.mktemp("view") / "report.html",
        title="browser test",
        result={"solution": "def add(a, b): ..."},
    )
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page()
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(out.as_uri())
        page.wait_for_selector("body[data-ready='1']")
        page.requests = requests
        yield page
        browser.close()


def test_renders_without_network(page) -> None:
    assert page.title() == "browser test"
    assert page.locator(".node").count() == 6
    assert all(url.startswith("file://") for url in page.requests)


def test_winning_path_is_visible_and_highlighted(page) -> None:
    for node_id in ("n0", "n1", "n3"):
        header = page.locator(f"#node-{node_id} > .header")
        assert header.is_visible()
        assert "winner" in page.locator(f"#node-{node_id}").get_attribute("class")
    assert page.locator("#node-n3 > .header .verdict").inner_text() == "tests 1.00"
    assert page.locator("#node-n1 > .body pre.text").is_visible()
    assert "return a + b" in page.locator("#node-n3 > .body pre.text").inner_text()


def test_collapsed_node_expands_on_click(page) -> None:
    child = page.locator("#node-n4 > .header")
    assert page.locator("#node-n2 > .header").is_visible()
    assert not child.is_visible()
    page.click("#node-n2 > .header")
    assert child.is_visible()
    assert page.locator("#node-n2 > .header").get_attribute("aria-expanded") == "true"
    page.click("#node-n4 > .header")
    assert page.locator("#node-n4 > .body pre.critique").inner_text() == "Step 1 is wrong."
    page.click("#node-n2 > .header")
    assert not child.is_visible()
