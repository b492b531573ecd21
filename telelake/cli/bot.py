"""Commands of a real bot: ``bot me|webhook-set|webhook-info|webhook-delete|commands-set``,
``poll``, ``run``.

Thin adapters over :mod:`telelake.telegram.botapi` and :mod:`telelake.service`.
The token comes only from ``TELEGRAM_BOT_TOKEN`` (or ``token`` in
telelake.toml): never a flag, so it stays out of shell history and ``ps``.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from telelake.cli.app import (
    ChatIds,
    ConfigFile,
    Enriched,
    Lake,
    Port,
    Raw,
    Secret,
    Timezone,
    app,
    resolve_settings,
)
from telelake.config import Settings
from telelake.errors import UsageError
from telelake.redaction import redact
from telelake.telegram.update import (
    DEFAULT_ALLOWED_UPDATES,
    MEMBER_UPDATES,
    REACTION_UPDATES,
)

if TYPE_CHECKING:
    from telelake.telegram.botapi import BotApi

log = logging.getLogger("telelake")

bot = typer.Typer(
    name="bot",
    help=(
        "Bot API calls that set up a bot: who it is, and its webhook.\n\n"
        "Example: telelake bot me   (with TELEGRAM_BOT_TOKEN set)"
    ),
    no_args_is_help=True,
)
app.add_typer(bot, name="bot", rich_help_panel="Collect")

AllowedUpdates = Annotated[
    str | None,
    typer.Option(
        "--allowed-updates",
        help="Comma-separated update kinds to receive. Default: "
        + ", ".join(DEFAULT_ALLOWED_UPDATES)
        + ".",
    ),
]
WithMembers = Annotated[
    bool,
    typer.Option(
        "--with-members", help="Also receive chat_member updates (only sent to admin bots)."
    ),
]
WithReactions = Annotated[
    bool,
    typer.Option(
        "--with-reactions",
        help="Also receive message_reaction and message_reaction_count (admin bots only).",
    ),
]


def allowed_updates(given: str | None, members: bool, reactions: bool) -> list[str]:
    """The ``allowed_updates`` list from the options (order kept, no repeats)."""
    kinds = [k.strip() for k in given.split(",")] if given else list(DEFAULT_ALLOWED_UPDATES)
    kinds = [k for k in kinds if k]
    if not kinds:
        raise UsageError("--allowed-updates needs at least one update kind")
    for kind in kinds:
        if not kind.replace("_", "").isalpha() or kind != kind.lower():
            raise UsageError(f"--allowed-updates: {kind!r} is not an update kind (e.g. message)")
    if members:
        kinds += MEMBER_UPDATES
    if reactions:
        kinds += REACTION_UPDATES
    return list(dict.fromkeys(kinds))


@contextmanager
def bot_api(settings: Settings) -> Iterator[BotApi]:
    # Imported here: httpx costs ~60 ms that `telelake etl` and friends never need.
    from telelake.telegram.botapi import BotApi

    with BotApi(settings.require_token(), settings.api_url) as api:
        yield api


def _when(value: Any) -> str:
    if isinstance(value, int) and value > 0:
        return datetime.fromtimestamp(value, UTC).isoformat(timespec="seconds")
    return "-"


@bot.command("me")
def me(config: ConfigFile = None) -> None:
    """Who the token belongs to (getMe), and whether the bot can see a group's messages.

    Example: TELEGRAM_BOT_TOKEN=123:AA... telelake bot me
    """
    settings = resolve_settings(config)
    with bot_api(settings) as api:
        info = api.get_me()
    # What the API answers is printed: a token it echoes must not be.
    info = {key: redact(value) if isinstance(value, str) else value for key, value in info.items()}
    typer.echo(f"bot: @{info.get('username', '?')} ({info.get('first_name', '')})")
    typer.echo(f"id: {info.get('id', '?')}")
    typer.echo(f"can join groups: {info.get('can_join_groups', '?')}")
    reads_all = info.get("can_read_all_group_messages")
    typer.echo(f"privacy mode: {'off' if reads_all else 'on'}")
    if not reads_all:
        typer.echo(
            "  with privacy mode on, the bot sees in groups only commands, replies to it and\n"
            "  service messages: turn it off with @BotFather /setprivacy -> Disable (then\n"
            "  remove and re-add the bot to the group), or make the bot an admin of the group."
        )


@bot.command("webhook-set")
def webhook_set(
    url: Annotated[str, typer.Argument(help="Public HTTPS URL Telegram will POST updates to.")],
    allowed: AllowedUpdates = None,
    with_members: WithMembers = False,
    with_reactions: WithReactions = False,
    max_connections: Annotated[
        int | None, typer.Option(help="Parallel connections Telegram may open (1-100).")
    ] = None,
    drop_pending: Annotated[
        bool, typer.Option("--drop-pending", help="Drop updates Telegram holds for the bot.")
    ] = False,
    ip_address: Annotated[
        str | None, typer.Option(help="Fixed IP address to use instead of resolving the URL.")
    ] = None,
    secret: Secret = None,
    config: ConfigFile = None,
) -> None:
    """Point the bot's webhook at URL (setWebhook), with a secret token.

    Without --secret or TELELAKE_WEBHOOK_SECRET a strong one is generated and
    printed once: configure it where `telelake serve` runs.

    Example: telelake bot webhook-set https://bot.example.org/webhook --with-members
    """
    if not url.startswith("https://") and not url.startswith("http://"):
        raise UsageError(f"the webhook URL must start with https://, got {redact(url)!r}")
    if max_connections is not None and not 1 <= max_connections <= 100:
        raise UsageError("--max-connections must be between 1 and 100")
    settings = resolve_settings(config, secret=secret)
    kinds = allowed_updates(allowed, with_members, with_reactions)
    generated = settings.secret is None
    token = settings.secret or secrets.token_urlsafe(32)
    with bot_api(settings) as api:
        api.set_webhook(
            url,
            secret_token=token,
            allowed_updates=kinds,
            max_connections=max_connections,
            drop_pending_updates=drop_pending,
            ip_address=ip_address,
        )
    typer.echo(f"webhook set: {url}")
    typer.echo(f"allowed updates: {', '.join(kinds)}")
    if generated:
        # The one place a secret is printed, on purpose: the receiver needs it.
        typer.echo("generated a secret token; configure the receiver with it (shown only now):")
        typer.echo(f"  TELELAKE_WEBHOOK_SECRET={token}")
    else:
        typer.echo("secret token: the one you configured (--secret / TELELAKE_WEBHOOK_SECRET)")


@bot.command("webhook-info")
def webhook_info(config: ConfigFile = None) -> None:
    """What Telegram knows about the bot's webhook (getWebhookInfo): URL, queue, last error.

    Example: telelake bot webhook-info
    """
    settings = resolve_settings(config)
    with bot_api(settings) as api:
        info = api.get_webhook_info()
    url = redact(str(info.get("url") or ""))
    typer.echo(f"url: {url or '(none: the bot can be polled)'}")
    typer.echo(f"pending updates: {info.get('pending_update_count', 0)}")
    if info.get("allowed_updates"):
        typer.echo(f"allowed updates: {', '.join(map(str, info['allowed_updates']))}")
    if info.get("max_connections"):
        typer.echo(f"max connections: {info['max_connections']}")
    if info.get("ip_address"):
        typer.echo(f"ip address: {info['ip_address']}")
    if info.get("last_error_date"):
        message = redact(str(info.get("last_error_message", "")))
        typer.echo(f"last error: {_when(info['last_error_date'])} {message}")


@bot.command("webhook-delete")
def webhook_delete(
    drop_pending: Annotated[
        bool, typer.Option("--drop-pending", help="Also drop updates Telegram holds for the bot.")
    ] = False,
    config: ConfigFile = None,
) -> None:
    """Remove the bot's webhook (deleteWebhook), so `telelake poll` or `run` can poll.

    Example: telelake bot webhook-delete
    """
    settings = resolve_settings(config)
    with bot_api(settings) as api:
        api.delete_webhook(drop_pending_updates=drop_pending)
    typer.echo("webhook deleted" + (" and pending updates dropped" if drop_pending else ""))


@bot.command("commands-set")
def commands_set(config: ConfigFile = None) -> None:
    """Register the bot's chat commands (setMyCommands): the menu people see after "/".

    Three lists: everyone in a group (/stats, /top, /me, /words, /help), group
    administrators (also /digest, /alerts), private chats (/me, /help, and
    /forgetme when TELELAKE_FORGETME allows it). `telelake run --replies`
    registers them at every start too.

    Example: telelake bot commands-set
    """
    from telelake.responder.menu import register

    settings = resolve_settings(config)
    with bot_api(settings) as api:
        done = register(api, settings.forgetme)
    for item in done:
        typer.echo(f"{item['scope']}: " + " ".join(f"/{name}" for name in item["commands"]))


PollTimeout = Annotated[
    int, typer.Option("--poll-timeout", help="Seconds getUpdates waits for new updates.")
]


@app.command(rich_help_panel="Collect")
def poll(
    allowed: AllowedUpdates = None,
    with_members: WithMembers = False,
    with_reactions: WithReactions = False,
    poll_timeout: PollTimeout = 25,
    lake: Lake = None,
    raw: Raw = None,
    timezone: Timezone = None,
    chat_id: ChatIds = None,
    config: ConfigFile = None,
) -> None:
    """Long polling only: fetch updates with getUpdates and store each durably in the raw layer.

    No public URL needed. Stops gracefully on Ctrl+C / SIGTERM.

    Example: TELEGRAM_BOT_TOKEN=123:AA... telelake poll --lake ./lake
    """
    from telelake.service import serve_polling

    settings = resolve_settings(config, lake=lake, raw=raw, timezone=timezone, chat_ids=chat_id)
    kinds = allowed_updates(allowed, with_members, with_reactions)
    _check_timeout(poll_timeout)
    with bot_api(settings) as api:
        serve_polling(settings, api, allowed_updates=kinds, timeout=poll_timeout, etl=False)


def _check_timeout(seconds: int) -> None:
    if not 0 <= seconds <= 50:
        raise UsageError("--poll-timeout must be between 0 and 50 seconds")


@app.command("run", rich_help_panel="Collect")
def run_bot(
    webhook_url: Annotated[
        str | None,
        typer.Option(help="Use a webhook at this public URL instead of polling."),
    ] = None,
    host: Annotated[str, typer.Option(help="Webhook mode: interface to listen on.")] = "127.0.0.1",
    port: Port = 8080,
    path: Annotated[
        str | None, typer.Option(help="Webhook mode: local path (default: the URL's path).")
    ] = None,
    etl_at: Annotated[
        str | None, typer.Option(help="Local time (HH:MM) of the daily ETL; default 00:30.")
    ] = None,
    no_etl_at_start: Annotated[
        bool, typer.Option("--no-etl-at-start", help="Skip the ETL of changed dates at start.")
    ] = False,
    allowed: AllowedUpdates = None,
    with_members: WithMembers = False,
    with_reactions: WithReactions = False,
    poll_timeout: PollTimeout = 25,
    lake: Lake = None,
    raw: Raw = None,
    enriched: Enriched = None,
    timezone: Timezone = None,
    chat_id: ChatIds = None,
    secret: Secret = None,
    replies: Annotated[
        bool | None,
        typer.Option(
            "--replies/--no-replies",
            help="Answer commands in chats, post digests and alerts (default: off; "
            "TELELAKE_REPLIES).",
        ),
    ] = None,
    config: ConfigFile = None,
) -> None:
    """The main job with a real bot: collect updates and build partitions daily.

    Long polling by default (no public URL needed), or a webhook with
    --webhook-url (calls setWebhook with a secret at start). Builds changed
    partitions at start and every day at --etl-at local time. With --replies the
    bot also answers /stats, /top, /me, /words and /help in chats and posts the
    digests and alerts administrators ask for. Stops gracefully on Ctrl+C / SIGTERM.

    Example: TELEGRAM_BOT_TOKEN=123:AA... telelake run --lake ./lake --timezone Europe/Berlin
    """
    from urllib.parse import urlsplit

    from telelake.report.serve import report_routes
    from telelake.scheduler import parse_hhmm
    from telelake.service import serve_polling, serve_webhook

    settings = resolve_settings(
        config,
        lake=lake,
        raw=raw,
        enriched=enriched,
        timezone=timezone,
        chat_ids=chat_id,
        secret=secret,
        etl_at=etl_at,
        replies=replies,
    )
    parse_hhmm(settings.etl_at)  # fail now, not at the first daily run
    if settings.replies:
        from telelake.responder.core import parse_digest_at

        parse_digest_at(settings.digest_at)
    kinds = allowed_updates(allowed, with_members, with_reactions)
    _check_timeout(poll_timeout)
    with bot_api(settings) as api:
        if webhook_url is None:
            serve_polling(settings, api, allowed_updates=kinds, timeout=poll_timeout,
                          etl_at_start=not no_etl_at_start, replies=True)  # fmt: skip
            return
        if not webhook_url.startswith(("https://", "http://")):
            raise UsageError("--webhook-url must be a public https:// URL")
        local_path = path or urlsplit(webhook_url).path or "/webhook"
        if not local_path.startswith("/"):
            raise UsageError(f"--path must start with '/', got {local_path!r}")
        serve_webhook(
            settings,
            api,
            public_url=webhook_url,
            host=host,
            port=port,
            path=local_path,
            allowed_updates=kinds,
            etl_at_start=not no_etl_at_start,
            # Pages served beside the webhook (the password-protected /report).
            extra_routes=report_routes(settings),
            replies=True,
        )
