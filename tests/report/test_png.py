"""PNG and SVG charts without a browser: the page's own specs drawn by vl-convert.

``render_png`` is what ``report --png`` and the bot use: a chart (by key, by
report name, or a bare Vega-Lite/Vega spec) and its rows in, PNG bytes out,
with no Chromium and no request. The known lake of ``conftest.py`` holds 7
messages, so the charts' pixels are checked for being drawn, not blank.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from telelake.analytics.engine import Engine, Result
from telelake.analytics.reports import get_report, run_report
from telelake.errors import UsageError
from telelake.report.charts import all_charts, charts_of, inline_spec, notebook_chart
from telelake.report.png import render_png, render_svg

# Python with Playwright made unimportable, then the CLI: --png must not need it.
NO_BROWSER = (
    "import runpy, sys; sys.modules['playwright'] = None; "
    "sys.modules['playwright.sync_api'] = None; "
    "sys.argv[0] = 'telelake'; runpy.run_module('telelake', run_name='__main__')"
)


def rows(lake: Path, name: str) -> Result:
    with Engine(str(lake / "enriched")) as engine:
        return run_report(engine, get_report(name))


def test_cli_png_writes_every_chart_with_rows_without_a_browser(
    report_lake: Path, tmp_path: Path, png_spread: Any
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", NO_BROWSER, "report", "--lake", str(report_lake),
         "--png", str(tmp_path / "slides"), "--quiet"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    written = sorted((tmp_path / "slides").iterdir())
    names = [path.name for path in written]
    # The lake has messages only: charts of member events, reactions and snapshots
    # have no rows and no image; the rest come in page order.
    assert names[:4] == [
        "01-messages-per-day.png",
        "02-messages-per-user-per-day.png",
        "03-messages-per-hour-weekday-week.png",
        "04-daily-active-users.png",
    ]
    assert [n for n in names if n.endswith("-reply-pairs-network.png")]
    assert not [n for n in names if "joins" in n or "member-count" in n or "reacted" in n]
    for path in written:
        width, height, variance, colours = png_spread(path.read_bytes())
        assert width >= 400 and height >= 100 and variance > 20 and colours > 3, path.name


def test_render_png_takes_a_report_name_a_chart_key_or_a_bare_spec(
    report_lake: Path, png_spread: Any
) -> None:
    per_day = rows(report_lake, "messages_per_day")
    width, height, variance, _ = png_spread(render_png("messages_per_day", per_day, scale=1))
    assert width >= 600 and height > 150 and variance > 20
    # Twice the pixels at scale 2 (the default, sharp on slides).
    assert png_spread(render_png("messages_per_day", per_day))[0] >= 2 * width - 2
    network = render_png(
        "reply_pairs:network",
        [{"chat_id": -1, "user_id": 1, "replied_to_user_id": 2, "replies": 3}],
        names={1: "Ana", 2: "Bo"},
    )
    assert png_spread(network)[2] > 5
    bare = {"data": {"name": "rows"}, "mark": "bar",
            "encoding": {"x": {"field": "label", "type": "nominal"},
                         "y": {"field": "n", "type": "quantitative"}}}  # fmt: skip
    assert png_spread(render_png(bare, [{"label": "a", "n": 2}, {"label": "b", "n": 5}]))[3] > 3


def test_svg_carries_the_names_not_the_ids(report_lake: Path) -> None:
    svg = render_svg("top_posters", [{"user_id": 7, "messages": 3}], names={7: "Zoë"})
    assert svg.startswith("<svg") and "Zoë" in svg and "user 7" not in svg


def test_a_spec_may_not_load_anything() -> None:
    spec = {
        "$schema": "https://vega.github.io/schema/vega/v6.json",
        "data": [{"name": "rows"}, {"name": "leak", "url": "https://example.com/x.csv"}],
        "marks": [{"type": "rect", "from": {"data": "leak"}}],
    }
    with pytest.raises(UsageError, match="not allowed"):
        render_png(spec, [])


def test_every_registered_chart_draws_from_its_reports_rows(report_lake: Path) -> None:
    drawn = 0
    for chart in all_charts():
        result = rows(report_lake, chart.report)
        if result.rows:
            assert render_png(chart, result, scale=1)[:8] == b"\x89PNG\r\n\x1a\n", chart.key
            drawn += 1
    assert drawn >= 15
    assert charts_of("reply_pairs")[0].key == "reply_pairs:network"


def test_a_chart_for_a_notebook_is_its_spec_with_the_rows(report_lake: Path) -> None:
    chart = notebook_chart(
        "messages_per_day", [{"context_date": "2024-05-06", "message_amount": 4}]
    )
    bundle = chart._repr_mimebundle_()
    spec = bundle["application/vnd.vegalite.v6+json"]
    assert spec["data"] == {"values": [{"context_date": "2024-05-06", "message_amount": 4}]}
    assert spec == inline_spec("messages_per_day", [{"context_date": "2024-05-06",
                                                     "message_amount": 4}])  # fmt: skip


def test_a_chart_whose_values_are_all_null_is_still_drawn() -> None:
    """Messages but no reply yet: every median is NULL. The chart is an empty plot, not an
    error that stops `report --png` (a colour legend with no entry once gave no size)."""
    from telelake.report.png import render_png

    rows = [
        {"context_date": "2024-05-06", "chat_id": -1, "chat_name": "A", "messages": 3,
         "replies": 0, "threads": 0, "forwards": 0, "median_reply_seconds": None},
    ]  # fmt: skip
    png = render_png("replies_and_threads:wait", rows)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
