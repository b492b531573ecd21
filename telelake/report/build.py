"""From a lake to the report page: run the reports, render the page.

Shared by ``telelake report --html``, ``telelake demo`` and the ``/report``
page of ``telelake serve``, so the three always show the same thing. The
page shows every built-in report (the original four first) whatever a
command prints in the terminal: its charts read several of them at once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import orjson

from telelake.analytics.engine import Engine, Result
from telelake.analytics.reports import REPORTS, Report, run_report
from telelake.analytics.reports.scope import Scope, scoped
from telelake.config import Settings
from telelake.errors import TelelakeError
from telelake.lake.layout import STATE_PREFIX
from telelake.report.dataset import chat_titles, person_names
from telelake.report.html import render_html

log = logging.getLogger("telelake.report")

# The record etl/layers.py keeps of how the enriched layer was built.
PSEUDONYMS_KEY = f"{STATE_PREFIX}/pseudonyms.json"

PAGE_TITLE = "telelake report"


def run_reports(
    engine: Engine, reports: Sequence[Report], scope: Scope | None = None
) -> list[tuple[Report, Result]]:
    """Each report with its rows, in the order given, restricted to ``scope``."""
    chosen = [scoped(report, scope) if scope else report for report in reports]
    return [(report, run_report(engine, report)) for report in chosen]


def page_sections(
    engine: Engine, done: Sequence[tuple[Report, Result]] = (), scope: Scope | None = None
) -> list[tuple[Report, Result]]:
    """Every built-in report's rows (restricted to ``scope``), reusing those in ``done``."""
    known = {report.name: (report, result) for report, result in done}
    return [known.get(report.name) or run_reports(engine, [report], scope)[0] for report in REPORTS]


def lake_zone(engine: Engine, settings: Settings) -> str:
    """The zone of the lake's local hours, as its enriched layer records it, else the
    configured one (a lake not built since telelake started recording it)."""
    try:
        return engine.recorded_zone() or settings.timezone
    except TelelakeError as exc:
        log.debug("lake zone not readable, using %s: %s", settings.timezone, exc)
        return settings.timezone


def is_pseudonymised(engine: Engine) -> bool:
    """Whether the enriched layer says it holds pseudonyms (``etl/layers.py`` records it)."""
    try:
        recorded = orjson.loads(engine.store.read(PSEUDONYMS_KEY))
    except (FileNotFoundError, orjson.JSONDecodeError):
        return False
    except TelelakeError as exc:
        log.debug("pseudonymisation record not readable: %s", exc)
        return False
    return isinstance(recorded, dict) and recorded.get("pseudonymized") is True


def render_page(
    sections: list[tuple[Report, Result]],
    settings: Settings,
    zone: str,
    *,
    pseudonymised: bool = False,
) -> str:
    """The page for ``sections`` of the lake of ``settings``, local hours in ``zone``."""
    return render_html(
        sections,
        title=PAGE_TITLE,
        subtitle=f"lake: {settings.enriched_url}",
        timezone=zone,
        pseudonymised=pseudonymised,
    )


def lookups(sections: Sequence[tuple[Report, Result]]) -> tuple[dict[Any, str], dict[Any, str]]:
    """Names of people and titles of chats, by id, for charts drawn outside the page."""
    return person_names(list(sections)), chat_titles(list(sections))


def render_lake(settings: Settings) -> str:
    """The page of the lake of ``settings``, every report run now."""
    with Engine(settings.enriched_url) as engine:
        sections = page_sections(engine)
        zone = lake_zone(engine, settings)
        pseudonymised = is_pseudonymised(engine)
    return render_page(sections, settings, zone, pseudonymised=pseudonymised)
