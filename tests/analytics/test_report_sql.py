"""Every built-in report is Athena SQL: it parses as Athena's dialect, passes the Trino type
check of the athena dialect layer, and so does each report restricted by ``--since``,
``--until``, ``--chat`` and its parameters; a restriction means what it says (property test).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from small_lakes import at, message, report_rows, write_lake
from sqlglot import exp

from telelake.analytics.engine import Engine
from telelake.analytics.reports import REPORTS, run_report
from telelake.analytics.reports.scope import Scope, scoped
from telelake.lake.tables import MESSAGES

FULL = Scope(since=date(2025, 1, 1), until=date(2025, 1, 31), chat=-100, days=7, gap_minutes=15)


@pytest.mark.parametrize("report", REPORTS, ids=lambda r: r.name)
def test_every_report_parses_as_athena_sql(report: object) -> None:
    for sql in (report.sql, scoped(report, FULL).sql):  # type: ignore[attr-defined]
        tree = sqlglot.parse_one(sql, read="athena")
        assert isinstance(tree, exp.Query)
        # What Athena gets back from sqlglot's own printing parses again, the same.
        assert sqlglot.parse_one(tree.sql(dialect="athena"), read="athena") == tree


@pytest.fixture(scope="module")
def empty_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("empty")


@pytest.mark.parametrize("report", REPORTS, ids=lambda r: r.name)
def test_every_report_and_its_scoped_form_pass_the_athena_checks(
    empty_lake: Path, report: object
) -> None:
    with Engine(str(empty_lake)) as engine:
        whole = run_report(engine, report)  # type: ignore[arg-type]
        narrow = run_report(engine, scoped(report, FULL))  # type: ignore[arg-type]
    assert whole.columns == narrow.columns and whole.rows == narrow.rows == []


DAYS = [date(2025, 1, 1) + timedelta(days=n) for n in range(10)]


@pytest.fixture(scope="module")
def two_chats(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scope")
    rows = [
        message(chat, 100 * n + k, k, at(d.year, d.month, d.day, 9 + k))
        for n, d in enumerate(DAYS)
        for chat, count in ((-100, n % 3 + 1), (-200, n % 2 + 1))
        for k in range(count)
    ]
    write_lake(root, MESSAGES, rows)
    return root


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    since=st.sampled_from([None, *DAYS]),
    until=st.sampled_from([None, *DAYS]),
    chat=st.sampled_from([None, -100, -200, -300]),
)
def test_a_scope_gives_the_rows_of_its_days_and_chat(
    two_chats: Path, since: date | None, until: date | None, chat: int | None
) -> None:
    if since and until and since > until:
        since, until = until, since
    _, whole = report_rows(two_chats, "daily_active_users")
    expected = [
        row
        for row in whole
        if (since is None or row[0] >= since)
        and (until is None or row[0] <= until)
        and (chat is None or row[1] == chat)
    ]
    # daily_active_users needs history (new posters): the rows are the whole lake's, cut.
    _, rows = report_rows(two_chats, "daily_active_users", Scope(since, until, chat))
    assert rows == expected
    _, per_day = report_rows(two_chats, "messages_per_day", Scope(since, until, chat))
    days = {row[0] for row in expected}
    assert {row[0] for row in per_day} == days
