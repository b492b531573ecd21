"""Each chart of the report page as a PNG, for slides: the page drawn by a real Chromium.

The charts are drawn by the page's own script, so the images come from the
same browser engine a reader uses: Playwright drives a headless Chromium,
loads the page (no network: its CSP forbids any request, and every request
is refused here too) and screenshots each chart's card. Playwright is an
optional dependency (``pip install playwright``) and needs a Chromium: the
system one (Debian's ``chromium``, or the ``chromium`` setting, e.g.
``TELELAKE_CHROMIUM=/path``) or the one
``playwright install chromium`` downloads. Without either, ``--png`` fails in
one line saying so.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from telelake.errors import ConfigError, StorageError, UsageError

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SYSTEM_CHROMIUMS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
VIEWPORT = {"width": 1100, "height": 900}
RENDER_TIMEOUT_MS = 20_000
_HOW = (
    "--png needs Playwright and a Chromium: pip install playwright, then "
    "apt-get install chromium (or playwright install chromium, or TELELAKE_CHROMIUM=/path)"
)


def chromium_path(configured: str | None = None) -> str | None:
    """The Chromium to drive: the configured one, a system one, else Playwright's own."""
    if configured:
        if not Path(configured).is_file():
            raise ConfigError(f"TELELAKE_CHROMIUM={configured} is not a file")
        return configured
    for candidate in SYSTEM_CHROMIUMS:
        if Path(candidate).is_file():
            return candidate
    found = shutil.which("chromium")
    return found


def check_browser(configured: str | None = None) -> None:
    """Fail with one line when Playwright is not installed or the configured Chromium is wrong."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        raise ConfigError(f"Playwright is not installed; {_HOW}") from None
    chromium_path(configured)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "chart"


def write_pngs(
    page_html: str, folder: str | Path, *, scale: float = 2, chromium: str | None = None
) -> list[Path]:
    """Screenshot every chart of ``page_html`` into ``folder`` (``scale`` pixels per CSS
    pixel: 2 is sharp on slides) with the Chromium ``chromium`` names (else a system or
    Playwright one); the files written, in order."""
    check_browser(chromium)
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    target = Path(folder)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {target}: {exc.strerror or exc}") from exc
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="telelake-png-") as scratch:
        page_file = Path(scratch) / "report.html"
        page_file.write_text(page_html, encoding="utf-8")
        try:
            with sync_playwright() as driver:
                browser = driver.chromium.launch(
                    executable_path=chromium_path(chromium), args=CHROMIUM_FLAGS
                )
                try:
                    written = _shoot(browser, page_file, target, scale)
                finally:
                    browser.close()
        except PlaywrightError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"cannot draw the charts with Chromium: {first}; {_HOW}") from None
    return written


def _shoot(browser: Any, page_file: Path, target: Path, scale: float) -> list[Path]:
    page = browser.new_page(viewport=VIEWPORT, device_scale_factor=scale)
    local = page_file.as_uri()
    # Belt and braces beside the page's CSP: nothing but the page itself loads.
    page.route(
        "**/*", lambda route: route.continue_() if route.request.url == local else route.abort()
    )
    page.goto(local)
    page.wait_for_selector("body[data-rendered]", timeout=RENDER_TIMEOUT_MS)
    written: list[Path] = []
    for index, chart in enumerate(page.query_selector_all(".chart[data-chart]"), start=1):
        if chart.query_selector("svg") is None:
            continue  # nothing drawn: no data in the lake for this chart
        name = f"{index:02d}-{_slug(chart.get_attribute('data-chart') or '')}.png"
        path = target / name
        try:
            # The whole card (title, legend) unless it holds several charts.
            card = chart.evaluate_handle(
                "node => { const card = node.closest('.card');"
                " return card && card.querySelectorAll('.chart').length === 1 ? card : node; }"
            ).as_element()
            (card or chart).screenshot(path=str(path))
        except OSError as exc:
            raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc
        written.append(path)
    page.close()
    return written
