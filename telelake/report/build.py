"""From a lake to the report page: run the reports, render the page.

Shared by ``telelake report --html``, ``telelake demo`` and the ``/report``
page of ``telelake serve``, so the three always show the same thing. The
page shows every built-in report (the original four first) whatever a
command prints in the terminal: its charts read several of them at once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telelake.analytics.engine import Engine, Result
from telelake.analytics.reports import REPORTS, Report, run_report
from telelake.config import Settings
from telelake.errors import TelelakeError
from telelake.report.html import render_html

log = logging.getLogger("telelake.report")

PAGE_TITLE = "telelake report"


def run_reports(engine: Engine, reports: Sequence[Report]) -> list[tuple[Report, Result]]:
    """Each report with its rows, in the order given."""
    return [(report, run_report(engine, report)) for report in reports]


def page_sections(
    engine: Engine, done: Sequence[tuple[Report, Result]] = ()
) -> list[tuple[Report, Result]]:
    """Every built-in report's rows, reusing the results already in ``done``."""
    known = {report.name: (report, result) for report, result in done}
    return [known.get(report.name) or (report, run_report(engine, report)) for report in REPORTS]


def lake_zone(engine: Engine, settings: Settings) -> str:
    """The zone of the lake's local hours, as its enriched layer records it, else the
    configured one (a lake not built since telelake started recording it)."""
    try:
        return engine.recorded_zone() or settings.timezone
    except TelelakeError as exc:
        log.debug("lake zone not readable, using %s: %s", settings.timezone, exc)
        return settings.timezone


def render_page(sections: list[tuple[Report, Result]], settings: Settings, zone: str) -> str:
    """The page for ``sections`` of the lake of ``settings``, local hours in ``zone``."""
    return render_html(
        sections,
        title=PAGE_TITLE,
        subtitle=f"lake: {settings.enriched_url}",
        timezone=zone,
    )


def render_lake(settings: Settings) -> str:
    """The page of the lake of ``settings``, every report run now."""
    with Engine(settings.enriched_url) as engine:
        sections = page_sections(engine)
        zone = lake_zone(engine, settings)
    return render_page(sections, settings, zone)
