"""python-telegram-bot's own webhook server, as a bot would run it, for bench/ingest.py.

``Application.run_webhook`` (tornado server, update queue, dispatch to a
handler) with a handler that does nothing: no disk, no durability. At start
PTB calls the Bot API (``getMe``, ``setWebhook``); those calls go to a tiny
fake Bot API in this process (``base_url``), so nothing reaches Telegram.

    python bench/ptb_server.py PORT SECRET
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from telegram import Update
from telegram.ext import Application, ContextTypes, TypeHandler

FAKE_TOKEN = "123456:bench-not-a-real-token"
BOT = {"id": 123456, "is_bot": True, "first_name": "bench", "username": "bench_bot"}


class FakeBotApi(BaseHTTPRequestHandler):
    """Answers the calls PTB makes at start-up; every method gets ``ok``."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        method = self.path.rsplit("/", 1)[-1].lower()
        result: object = BOT if method == "getme" else True
        body = json.dumps({"ok": True, "result": result}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, format: str, *args: object) -> None:
        pass


async def ignore(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The no-op handler: PTB parses and dispatches each update, then drops it."""


def main() -> None:
    port, secret = int(sys.argv[1]), sys.argv[2]
    logging.basicConfig(level=logging.WARNING)
    fake = ThreadingHTTPServer(("127.0.0.1", 0), FakeBotApi)
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{fake.server_address[1]}/bot"
    application = (
        Application.builder()
        .token(FAKE_TOKEN)
        .base_url(base)
        .base_file_url(base)
        .concurrent_updates(True)
        .build()
    )
    application.add_handler(TypeHandler(Update, ignore))
    application.run_webhook(
        listen="127.0.0.1",
        port=port,
        url_path="webhook",
        secret_token=secret,
        webhook_url=f"http://127.0.0.1:{port}/webhook",
    )


if __name__ == "__main__":
    main()
