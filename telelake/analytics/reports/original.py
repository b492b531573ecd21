"""The original design's four queries, verbatim (only whitespace differs).

Their SQL runs through the ``athena`` dialect, so the numbers are the ones
Athena would give on the same lake (DESIGN §6). Queries 2 and 3 order by
date only, which leaves rows of the same day in any order; for a stable
display the registry's ``run_report`` refines that order in an outer query
around the SQL, never changing the SQL itself.
"""

from __future__ import annotations

from telelake.analytics.reports.report import Report

_PER_DAY = """\
SELECT context_date, count(1) AS "message_amount"
FROM "telegram"
GROUP BY context_date
ORDER BY context_date DESC"""

_PER_USER_PER_DAY = """\
SELECT user_id, user_first_name, context_date, count(1) AS "message_amount"
FROM "telegram"
GROUP BY user_id, user_first_name, context_date
ORDER BY context_date DESC"""

_AVERAGE_LENGTH = """\
SELECT user_id, user_first_name, context_date,
       CAST(AVG(length(text)) AS INT) AS "average_message_length"
FROM "telegram"
GROUP BY user_id, user_first_name, context_date
ORDER BY context_date DESC"""

_HOUR_WEEKDAY_WEEK = """\
WITH parsed_date_cte AS (
    SELECT *,
           CAST(date_format(from_unixtime("date"),'%Y-%m-%d %H:%i:%s') AS timestamp) AS parsed_date
    FROM "telegram"),
hour_week_cte AS (
    SELECT *, EXTRACT(hour FROM parsed_date) AS parsed_date_hour,
           EXTRACT(dow FROM parsed_date) AS parsed_date_weekday,
           EXTRACT(week FROM parsed_date) AS parsed_date_weeknum
    FROM parsed_date_cte)
SELECT parsed_date_hour, parsed_date_weekday, parsed_date_weeknum, count(1) AS "message_amount"
FROM hour_week_cte
GROUP BY parsed_date_hour, parsed_date_weekday, parsed_date_weeknum
ORDER BY parsed_date_weeknum, parsed_date_weekday"""

REPORTS: tuple[Report, ...] = (
    Report(
        name="messages_per_day",
        title="Messages per day",
        sql=_PER_DAY,
        sort_keys=("-context_date",),
        question="How many messages are sent each day?",
    ),
    Report(
        name="messages_per_user_per_day",
        title="Messages per user per day",
        sql=_PER_USER_PER_DAY,
        sort_keys=("-context_date", "-message_amount", "user_id", "user_first_name"),
        question="How many messages does each person send each day?",
    ),
    Report(
        name="average_length_per_user_per_day",
        title="Average message length per user per day",
        sql=_AVERAGE_LENGTH,
        sort_keys=("-context_date", "user_id", "user_first_name"),
        question="How long are each person's text messages, per day?",
    ),
    Report(
        name="messages_per_hour_weekday_week",
        title="Messages per hour, weekday and week number (UTC)",
        sql=_HOUR_WEEKDAY_WEEK,
        sort_keys=("parsed_date_weeknum", "parsed_date_weekday", "parsed_date_hour"),
        question="At which hours and weekdays (UTC), week by week, do people write?",
    ),
)
