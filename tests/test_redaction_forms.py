"""Every form of a secret is redacted, through every output path (issue 14, class 5).

The forms: a token raw, with its colon percent-encoded (``%3A`` and ``%3a``),
its part after the colon alone; a webhook secret of any length (a short one
where it stands alone), raw and percent-encoded. The paths: ``redact`` itself,
log records (messages, arguments, tracebacks), a ``telelake`` process's
error line and its ``--debug`` traceback, and what ``bot me`` prints, against
a Bot API that echoes the token back in an error description and a result.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest

from telelake.redaction import RedactingFilter, redact, register_secret

BOT_ID = "918273645"
PART = "AAGz-formsformsformsformsforms_0123"  # 35 characters, as BotFather issues
TOKEN = f"{BOT_ID}:{PART}"
FORMS = {
    "raw": TOKEN,
    "url": f"https://api.telegram.org/bot{TOKEN}/getMe",
    "%3A": f"/bot{BOT_ID}%3A{PART}/getMe",
    "%3a": f"/bot{BOT_ID}%3a{PART}/getMe",
    "part alone": f"invalid token part {PART}",
}
SHORT_SECRET = "k9-x"  # Telegram takes a secret of 1-256 characters


@pytest.fixture(autouse=True, scope="module")
def registered() -> None:
    register_secret(TOKEN)
    register_secret(SHORT_SECRET)
    register_secret("pass word/ü")


@pytest.mark.parametrize("form", FORMS, ids=list(FORMS))
def test_each_form_of_the_token_is_redacted(form: str) -> None:
    cleaned = redact(f"error: {FORMS[form]} (retry)")
    assert PART not in cleaned and "formsforms" not in cleaned, cleaned
    assert cleaned.startswith("error: ") and cleaned.endswith(" (retry)")


def test_a_token_never_seen_is_redacted_in_its_encoded_form_too() -> None:
    other = "55555:" + "Q" * 35
    for text in (other, other.replace(":", "%3A"), other.replace(":", "%3a")):
        assert "Q" * 35 not in redact(text)


def test_secrets_of_any_length_in_every_encoding() -> None:
    assert redact(f"header {SHORT_SECRET} refused") == "header <redacted> refused"
    assert redact(f"?key={SHORT_SECRET}&x=1") == "?key=<redacted>&x=1"
    # Inside a longer word a short secret is only letters of that word.
    assert redact(f"xk9-xy and {SHORT_SECRET}z") == f"xk9-xy and {SHORT_SECRET}z"
    for shown in ("pass word/ü", quote("pass word/ü", safe=""), "pass+word%2F%C3%BC",
                  quote("pass word/ü", safe="").lower()):  # fmt: skip
        assert redact(f"key={shown} tried") == "key=<redacted> tried", shown


def test_every_form_through_a_log_record_and_its_traceback() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("telelake.test_redaction_forms")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        for form in FORMS.values():
            logger.warning("calling %s", form)
            try:
                raise ConnectionError(f"reset while reading {form}")
            except ConnectionError:
                logger.exception("failed: %r", {"secret": SHORT_SECRET})
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert output.count("Traceback (most recent call last)") == len(FORMS)
    assert PART not in output and f" {SHORT_SECRET}" not in output and "'k9-x'" not in output


class _EchoingApi(BaseHTTPRequestHandler):
    """A Bot API that echoes the request path in its errors and the token in getMe's result."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        quoted = quote(self.path, safe="/")  # the path with its colon as %3A
        if self.path.endswith("/getMe"):
            body = {"ok": True, "result": {"id": int(BOT_ID), "is_bot": True,
                                           "first_name": f"echo {TOKEN}",
                                           "username": f"x{quoted}"}}  # fmt: skip
            status = 200
        else:
            body = {"ok": False, "error_code": 400,
                    "description": f"Bad Request: no such path {quoted} ({PART})"}  # fmt: skip
            status = 400
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echoing_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoingApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _telelake(*args: str, api: str, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELELAKE_", "TELEGRAM_"))}
    env.update(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=api, TELELAKE_WEBHOOK_SECRET=SHORT_SECRET)
    result = subprocess.run([sys.executable, "-m", "telelake", *args], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    return result.stdout + result.stderr


def test_no_form_reaches_the_terminal_or_a_file(echoing_api: str, tmp_path: Path) -> None:
    outputs = {
        "bot me": _telelake("bot", "me", api=echoing_api, cwd=tmp_path),
        "debug bot me": _telelake("--debug", "bot", "me", api=echoing_api, cwd=tmp_path),
        "error": _telelake("bot", "webhook-info", api=echoing_api, cwd=tmp_path),
        "debug error": _telelake("--debug", "bot", "webhook-info", api=echoing_api, cwd=tmp_path),
    }
    assert "bot: @" in outputs["bot me"]
    assert "Bad Request: no such path" in outputs["error"]
    assert "Traceback" in outputs["debug error"]
    written = tmp_path / "all-output.log"  # what a user redirecting the output keeps
    written.write_text("\n".join(outputs.values()))
    text = written.read_text()
    assert PART not in text and "formsforms" not in text
    assert f"{BOT_ID}%3A<redacted>" in text  # the encoded form was there, redacted
