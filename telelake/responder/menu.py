"""The bot's command menu (``setMyCommands``), one list per audience. Pure and light.

Telegram shows the most specific list that applies: people in a group see
the group commands, its administrators also the settings, and a private chat
with the bot the personal commands. ``telelake bot commands-set`` and the
start of ``telelake run --replies`` register them (:func:`register`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from telelake.telegram.botapi import BotApi

GROUP: tuple[tuple[str, str], ...] = (
    ("stats", "Messages, posters and the busiest hour [today|week|month]"),
    ("top", "Who posted most [today|week|month]"),
    ("me", "Your own numbers (sent privately when you have started the bot)"),
    ("words", "What the group talks about [today|week|month]"),
    ("help", "What this bot does and what it stores"),
)
ADMIN: tuple[tuple[str, str], ...] = (
    ("digest", "Admins: post a summary daily|weekly|off"),
    ("alerts", "Admins: alert on more joins than N in 10 minutes, or off"),
)
PRIVATE: tuple[tuple[str, str], ...] = (
    ("me", "Your numbers in the groups this bot collects"),
    ("help", "What this bot does and what it stores"),
)
FORGETME = ("forgetme", "Erase everything this bot's lake holds about you")


def menus(forgetme: bool) -> list[tuple[dict[str, str], list[dict[str, str]]]]:
    """``(scope, commands)`` pairs, as ``setMyCommands`` takes them."""

    def listed(pairs: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
        return [{"command": name, "description": text} for name, text in pairs]

    private = PRIVATE + ((FORGETME,) if forgetme else ())
    return [
        ({"type": "default"}, listed(GROUP)),
        ({"type": "all_chat_administrators"}, listed(GROUP + ADMIN)),
        ({"type": "all_private_chats"}, listed(private)),
    ]


def register(api: BotApi, forgetme: bool) -> list[dict[str, Any]]:
    """Register every list; what was registered, for the caller to show."""
    done: list[dict[str, Any]] = []
    for scope, commands in menus(forgetme):
        api.set_my_commands(commands, scope=scope)
        done.append({"scope": scope["type"], "commands": [c["command"] for c in commands]})
    return done
