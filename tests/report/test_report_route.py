"""``GET /report`` on a real ``telelake serve`` process, over real HTTP, behind a password."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from telelake.report.serve import PageCache

PASSWORD = "report-password-7"  # 15 characters or more: a weaker one opens nothing


@pytest.fixture
def lake(report_lake: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "lake"
    shutil.copytree(report_lake / "enriched", copy / "enriched")
    return copy


def _data(page: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="telelake-data">(.*?)</script>', page)
    assert match, "no data in the page"
    result: dict[str, Any] = json.loads(match.group(1))
    return result


def test_report_needs_the_password_and_shows_the_lake(serve_webhook: Any, lake: Path) -> None:
    server = serve_webhook(lake, extra_env={"TELELAKE_REPORT_PASSWORD": PASSWORD})
    url = f"{server.url}/report"
    refused = server.client.get(url)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Basic ")
    assert PASSWORD not in refused.text
    assert server.client.get(url, auth=("any", "wrong")).status_code == 401
    assert server.client.get(url, params={"key": PASSWORD[:-1]}).status_code == 401
    # The page has its own password: the webhook secret does not open it.
    assert server.client.get(url, params={"key": server.secret}).status_code == 401

    shown = server.client.get(url, auth=("me", PASSWORD))
    assert shown.status_code == 200
    assert shown.headers["content-type"].startswith("text/html")
    assert shown.headers["cache-control"] == "no-store"
    data = _data(shown.text)
    assert (data["first_day"], data["last_day"]) == ("2024-05-06", "2024-05-08")
    columns = data["reports"]["messages_per_day"]["data"]  # one list per column
    per_day = dict(zip(*columns, strict=True))
    assert per_day == {"2024-05-06": 4, "2024-05-08": 3}  # counted by hand (conftest)
    by_key = server.client.get(url, params={"key": PASSWORD})
    assert by_key.status_code == 200 and _data(by_key.text) == data
    # The webhook still works beside it.
    assert server.client.get(f"{server.url}/healthz").status_code == 200


def test_without_a_report_password_the_webhook_secret_opens_it(
    serve_webhook: Any, lake: Path
) -> None:
    server = serve_webhook(lake)
    url = f"{server.url}/report"
    assert server.client.get(url).status_code == 401
    assert server.client.get(url, auth=("x", server.secret)).status_code == 200


def test_without_any_secret_there_is_no_report_page(serve_webhook: Any, lake: Path) -> None:
    server = serve_webhook(lake, secret=None)
    assert server.client.get(f"{server.url}/report").status_code == 404
    assert server.client.get(f"{server.url}/report", params={"key": ""}).status_code == 404
    server.stop()
    assert "no /report page" in server.stderr()


def test_an_empty_lake_gets_a_page_not_an_error(serve_webhook: Any, tmp_path: Path) -> None:
    server = serve_webhook(tmp_path / "empty", extra_env={"TELELAKE_REPORT_PASSWORD": PASSWORD})
    shown = server.client.get(f"{server.url}/report", auth=("me", PASSWORD))
    assert shown.status_code == 200
    assert "The lake has no messages yet." in shown.text


def test_page_cache_renders_once_per_period() -> None:
    calls: list[int] = []

    def render() -> str:
        calls.append(1)
        return f"page {len(calls)}"

    cached = PageCache(render, seconds=3600)
    assert [cached.get(), cached.get()] == ["page 1", "page 1"]
    fresh = PageCache(render, seconds=-1)
    assert [fresh.get(), fresh.get()] == ["page 2", "page 3"]


def test_basic_auth_header_garbage_is_refused(serve_webhook: Any, lake: Path) -> None:
    server = serve_webhook(lake, extra_env={"TELELAKE_REPORT_PASSWORD": PASSWORD})
    for header in ("Basic !!!", "Basic " + "bm8tY29sb24=", "Bearer " + PASSWORD, "Basic"):
        answer = server.client.get(f"{server.url}/report", headers={"Authorization": header})
        assert answer.status_code == 401, header
