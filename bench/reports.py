"""Every report after the original four, at 1M and 10M messages; the page at 1M.

The lake is synthetic but has what the reports read: 5 chats over 90 days,
3,000 people, a fifth of the messages replies (to a message of the same
chat), one in fifty with an @mention, one in twenty edited, joins (by link,
by another member, by themselves), admin actions, reactions on a tenth of
the messages, one update row per message and a member-count snapshot per
chat and day. DuckDB writes it as Hive-partitioned Parquet. Each report runs
as ``telelake report`` runs it (Athena dialect, rows sorted), best of two,
engine opened once; each size in a child process. At 1M the page is
rendered from the same lake: its size, and the time Chromium takes to open
it and draw every chart (when Playwright and Chromium are here).

    python bench/reports.py [--sizes 1000000,10000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from common import machine, self_peak_mb, verdict, workdir

from telelake.analytics.engine import Engine
from telelake.analytics.reports import REPORTS, run_report
from telelake.report.html import render_html

DAYS = 90
START = 1760000000
TARGET_SECONDS = 1.0
PAGE_BYTES = 2_000_000
PAGE_SECONDS = 2.0
CHROMIUM = "/usr/bin/chromium"


def _copy(con: duckdb.DuckDBPyConnection, select: str, target: Path) -> None:
    con.execute(
        f"COPY ({select}) TO '{target}' (FORMAT parquet, PARTITION_BY (context_date), "
        "COMPRESSION snappy)"
    )


def build(root: Path, n: int) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    second = f"({START} + (i * {DAYS} * 86400) // {n})::BIGINT"
    _copy(
        con,
        f"""
        SELECT i AS message_id, (hash(i) % 3000)::BIGINT AS user_id, false AS user_is_bot,
               'Pessoa ' || (hash(i) % 3000)::VARCHAR AS user_first_name,
               (-1001000000000 - i % 5)::BIGINT AS chat_id, 'supergroup' AS chat_type,
               'Chat ' || (i % 5)::VARCHAR AS chat_title,
               CASE WHEN i % 10 = 0 THEN NULL ELSE repeat('olá ', (hash(i) % 30)::INT) END AS text,
               {second} AS date, i AS update_id, 'message' AS update_kind,
               make_timestamp({second} * 1000000) AS sent_at,
               make_timestamp({second} * 1000000) AS sent_at_local,
               'text' AS content_type, 'u' || (hash(i) % 3000)::VARCHAR AS user_username,
               CASE WHEN i % 5 = 0 AND i > 100 THEN i - 5 * (1 + hash(i) % 20) END
                   AS reply_to_message_id,
               CASE WHEN i % 50 = 0 THEN ['@u' || (hash(i + 1) % 3000)::VARCHAR]
                    ELSE []::VARCHAR[] END AS mentions,
               CASE WHEN i % 20 = 0 THEN {second} + i % 600 END AS edit_date,
               CAST(to_timestamp({second}) AT TIME ZONE 'UTC' AS DATE) AS context_date
        FROM range({n}) t(i)""",
        root / "telegram",
    )
    _copy(
        con,
        f"""
        SELECT i AS update_id, 'message' AS update_kind,
               (-1001000000000 - i % 5)::BIGINT AS chat_id, (hash(i) % 3000)::BIGINT AS user_id,
               {second} AS date, 'k' AS raw_key,
               CAST(to_timestamp({second}) AT TIME ZONE 'UTC' AS DATE) AS context_date
        FROM range({n}) t(i)""",
        root / "telegram_updates",
    )
    joins = max(n // 1000, 10)
    second_j = f"({START} + (i * {DAYS} * 86400) // {joins})::BIGINT"
    _copy(
        con,
        f"""
        SELECT {n} + i AS update_id, 'chat_member' AS update_kind,
               (-1001000000000 - i % 5)::BIGINT AS chat_id,
               CASE WHEN i % 3 = 0 THEN (3000 + i)::BIGINT ELSE (hash(i) % 3000)::BIGINT END
                   AS actor_user_id,
               (3000 + i)::BIGINT AS user_id, 'Novo ' || i::VARCHAR AS user_first_name,
               false AS user_is_bot,
               CASE WHEN i % 7 = 0 THEN 'member' ELSE 'left' END AS old_status,
               CASE WHEN i % 7 = 0 THEN 'kicked' ELSE 'member' END AS new_status,
               {second_j} AS date, make_timestamp({second_j} * 1000000) AS changed_at,
               CASE WHEN i % 3 = 0 THEN 'link ' || (i % 4)::VARCHAR END AS invite_link_name,
               i % 11 = 0 AS via_join_request,
               CASE WHEN i % 3 = 0 THEN (hash(i) % 50)::BIGINT END AS invite_link_creator_user_id,
               CAST(to_timestamp({second_j}) AT TIME ZONE 'UTC' AS DATE) AS context_date
        FROM range({joins}) t(i)""",
        root / "telegram_members",
    )
    _copy(
        con,
        f"""
        SELECT {2 * n} + i AS update_id, {n} + i AS message_id,
               (-1001000000000 - i % 5)::BIGINT AS chat_id, (hash(i) % 3000)::BIGINT AS user_id,
               {second_j} AS date, 'new_chat_members' AS event,
               (100000 + i)::BIGINT AS member_user_id,
               false AS member_is_bot,
               CAST(to_timestamp({second_j}) AT TIME ZONE 'UTC' AS DATE) AS context_date
        FROM range({joins}) t(i)""",
        root / "telegram_service",
    )
    reactions = n // 10
    second_r = f"({START} + (i * 10 * {DAYS} * 86400) // {n})::BIGINT"
    _copy(
        con,
        f"""
        SELECT {3 * n} + i AS update_id, (-1001000000000 - (i * 10) % 5)::BIGINT AS chat_id,
               i * 10 AS message_id, (hash(i + 7) % 3000)::BIGINT AS user_id, {second_r} AS date,
               []::VARCHAR[] AS old_reactions,
               CASE WHEN i % 4 = 0 THEN ['👍', '❤'] ELSE ['👍'] END AS new_reactions,
               CAST(to_timestamp({second_r}) AT TIME ZONE 'UTC' AS DATE) AS context_date
        FROM range({reactions}) t(i)""",
        root / "telegram_reactions",
    )
    _copy(
        con,
        f"""
        SELECT -1 - i AS update_id, (-1001000000000 - i % 5)::BIGINT AS chat_id,
               ({START} + (i // 5) * 86400 + 43200)::BIGINT AS date,
               make_timestamp(({START} + (i // 5) * 86400 + 43200) * 1000000) AS taken_at,
               (2000 + i)::BIGINT AS member_count,
               CAST(to_timestamp({START} + (i // 5) * 86400) AT TIME ZONE 'UTC' AS DATE)
                   AS context_date
        FROM range({DAYS * 5}) t(i)""",
        root / "telegram_chat_stats",
    )
    con.close()


def open_time(page: Path) -> float | None:
    """Seconds from navigation until every chart is drawn, in headless Chromium."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not Path(CHROMIUM).is_file():
        return None
    flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=flags)
        try:
            best = float("inf")
            for _ in range(3):
                tab = browser.new_page(viewport={"width": 1200, "height": 900})
                started = time.perf_counter()
                tab.goto(page.as_uri())
                tab.wait_for_selector("body[data-rendered]", timeout=60_000)
                best = min(best, time.perf_counter() - started)
                tab.close()
        finally:
            browser.close()
    return best


def child(n: int, with_page: bool) -> None:
    with tempfile.TemporaryDirectory(dir=workdir()) as tmp:
        started = time.perf_counter()
        build(Path(tmp), n)
        built = time.perf_counter() - started
        timings = []
        sections = []
        with Engine(tmp) as engine:
            for report in REPORTS[4:]:
                best, rows = float("inf"), None
                for _ in range(2):
                    began = time.perf_counter()
                    rows = run_report(engine, report)
                    best = min(best, time.perf_counter() - began)
                timings.append({"name": report.name, "seconds": best, "rows": len(rows.rows)})
            if with_page:
                began = time.perf_counter()
                sections = [(report, run_report(engine, report)) for report in REPORTS]
                html = render_html(sections, title="bench", timezone="UTC")
                page_seconds = time.perf_counter() - began
        page = None
        if with_page:
            target = (Path(tmp) / "report.html").resolve()
            target.write_text(html, encoding="utf-8")
            page = {"bytes": len(html.encode()), "render": page_seconds,
                    "open": open_time(target)}  # fmt: skip
    print(json.dumps({"built": built, "reports": timings, "page": page,
                      "peak_mb": self_peak_mb()}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--child", type=int)
    parser.add_argument("--page", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.page)
        return
    print(f"machine: {machine()}")
    print(f"{'N':>11}  {'report':<32} {'athena ms':>9} {'rows':>9}")
    verdicts = []
    for index, n in enumerate(int(s) for s in args.sizes.split(",")):
        command = [sys.executable, __file__, "--child", str(n)]
        if index == 0:
            command.append("--page")
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        for report in result["reports"]:
            ms = report["seconds"] * 1000
            print(f"{n:>11,}  {report['name']:<32} {ms:>9,.0f} {report['rows']:>9,}", flush=True)
            verdicts.append(
                verdict(
                    f"{report['name']} at {n:,} messages",
                    f"{ms:,.0f} ms",
                    "< 1 s",
                    report["seconds"] < TARGET_SECONDS,
                )
            )
        print(f"{'':>11}  (lake of {n:,} messages built by DuckDB in {result['built']:.1f} s, "
              f"peak {result['peak_mb']:.0f} MB)")  # fmt: skip
        page = result.get("page")
        if page:
            size = page["bytes"] / 1e6
            print(f"{'':>11}  page: {size:.2f} MB, every report run and rendered in "
                  f"{page['render']:.1f} s")  # fmt: skip
            verdicts.append(verdict(f"page at {n:,} messages", f"{size:.2f} MB", "< 2 MB",
                                    page["bytes"] < PAGE_BYTES))  # fmt: skip
            if page["open"] is not None:
                verdicts.append(
                    verdict(
                        f"page at {n:,} messages opens in Chromium",
                        f"{page['open']:.2f} s",
                        "< 2 s",
                        page["open"] < PAGE_SECONDS,
                    )
                )
    for line in verdicts:
        print(line)


if __name__ == "__main__":
    main()
