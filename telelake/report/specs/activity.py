"""Charts of the original four reports and of the activity reports (who posts, when, what)."""

from __future__ import annotations

from telelake.report.charts import Chart
from telelake.report.specs.common import (
    ROWS,
    daily_bars,
    day_axis,
    series,
    top_bars,
    weekday_hour,
)

_WAIT_MINUTES = {
    "data": ROWS,
    "width": "container",
    "height": 180,
    # Days without a reply keep their rows (the line skips their NULL): filtered out,
    # a range with no reply left the colour legend empty and the chart without a size.
    "transform": [{"calculate": "datum.median_reply_seconds / 60", "as": "minutes"}],
    "mark": {"type": "line", "point": {"size": 18}, "tooltip": True},
    "encoding": {
        "x": day_axis(),
        "y": {"aggregate": "max", "field": "minutes", "type": "quantitative",
              "title": "median minutes to a reply"},
        "color": {"field": "chat_name", "type": "nominal", "title": None},
    },
}  # fmt: skip

CHARTS: tuple[Chart, ...] = (
    Chart(
        "messages_per_day",
        "messages_per_day",
        daily_bars("message_amount", "messages"),
        person=(),
        zoom=True,
    ),
    Chart(
        "messages_per_user_per_day",
        "messages_per_user_per_day",
        top_bars("user_name", "message_amount", "messages"),
        heading="Most messages in the range",
    ),
    Chart(
        "messages_per_hour_weekday_week",
        "messages_per_hour_weekday_week",
        weekday_hour("parsed_date_weekday", "parsed_date_hour", "message_amount", "messages"),
        heading="All weeks summed",
        person=(),
    ),
    Chart(
        "daily_active_users",
        "daily_active_users",
        series(
            {
                "active_users": "active posters",
                "new_posters": "new",
                "returning_posters": "returning",
            }
        ),
        person=(),
        zoom=True,
    ),
    Chart(
        "messages_by_content_type",
        "messages_by_content_type",
        top_bars("content_type", "messages", "messages", limit=12),
        person=(),
    ),
    Chart("top_posters", "top_posters", top_bars("user_name", "messages", "messages")),
    Chart(
        "activity_heatmap",
        "activity_heatmap",
        weekday_hour("weekday", "hour", "messages", "messages"),
        person=(),
    ),
    Chart(
        "members_joined_left",
        "members_joined_left",
        series({"joined": "joined", "departed": "left"}),
        person=(),
        zoom=True,
    ),
    Chart(
        "replies_and_threads",
        "replies_and_threads",
        series(
            {
                "messages": "messages",
                "replies": "replies",
                "threads": "threads",
                "forwards": "forwards",
            }
        ),
        heading="Per day",
        person=(),
        zoom=True,
    ),
    Chart(
        "replies_and_threads:wait",
        "replies_and_threads",
        _WAIT_MINUTES,
        heading="Median minutes to a reply, per chat",
        person=(),
    ),
    Chart(
        "reactions",
        "reactions",
        top_bars("reaction", "reactions", "reactions", limit=12),
        person=(),
    ),
)
