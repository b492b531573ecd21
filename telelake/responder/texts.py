"""Everything the bot writes, as plain text (no parse mode, so a name is never markup).

Short enough for a photo caption (1,024 characters) and for a phone screen.
With a pseudonymised lake no line names anyone: top posters are shown by
their counts only. Percentages are rounded half away from zero.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from telelake.responder.stats import PERIODS, Mine, Poster, Summary, Window, when

MAX_NAME = 32
PSEUDONYMISED = "names are not shown: this lake is pseudonymised"


def number(value: int) -> str:
    return f"{value:,}"


def change(current: int, before: int) -> str:
    """``+12%``, ``-3%``, ``±0%``, or ``new`` when there was nothing before."""
    if before == 0:
        return "±0%" if current == 0 else "new"
    diff = current - before
    # Integer arithmetic: round(|diff| * 100 / before), halves away from zero.
    percent = (abs(diff) * 200 + before) // (2 * before)
    if percent == 0:
        return "±0%"
    return f"{'+' if diff > 0 else '-'}{percent}%"


def _name(poster: Poster) -> str:
    name = (poster.name or "someone").strip()
    return name if len(name) <= MAX_NAME else name[: MAX_NAME - 1] + "…"


def top_line(top: list[Poster], names: bool) -> str:
    if not top:
        return "nobody yet"
    if not names:
        return " · ".join(f"{i}. {number(p.messages)}" for i, p in enumerate(top, 1)) + (
            f" ({PSEUDONYMISED})"
        )
    return " · ".join(f"{i}. {_name(p)} {number(p.messages)}" for i, p in enumerate(top, 1))


def hour_range(hour: int) -> str:
    return f"{hour:02d}:00–{(hour + 1) % 24:02d}:00"


def period_label(period: str, current: Window, zone: ZoneInfo) -> tuple[str, str]:
    """How the period and the one before are named (``today until 16:05``, ...)."""
    end = when(current.end - 1, zone)
    if period == "today":
        return f"today until {end:%H:%M}", f"yesterday until {end:%H:%M}"
    days = PERIODS[period]
    span = f"{current.first_day:%b %d} – {current.last_day:%b %d}, until {end:%H:%M}"
    return f"the last {days} days ({span})", f"the {days} days before"


def stats(summary: Summary, label: tuple[str, str], names: bool, zone: ZoneInfo) -> str:
    """The ``/stats`` answer (also the chart's caption)."""
    now_label, before_label = label
    messages = change(summary.messages, summary.previous_messages)
    people = change(summary.posters, summary.previous_posters)
    lines = [
        f"📊 {summary.title or 'This chat'}: {now_label} ({zone.key})",
        f"Messages: {number(summary.messages)} ({messages} vs {before_label}: "
        f"{number(summary.previous_messages)})",
        f"Posters: {number(summary.posters)} ({people}: {number(summary.previous_posters)})",
        f"Top posters: {top_line(summary.top, names)}",
    ]
    if summary.busiest_hour is not None:
        lines.append(
            f"Busiest hour: {hour_range(summary.busiest_hour)}"
            f" ({number(summary.busiest_count)} messages)"
        )
    lines.append(f"New members: {number(summary.new_members)}")
    return "\n".join(lines)


def top(people: list[Poster], title: str | None, label: str, names: bool) -> str:
    if not people:
        return f"🏆 {title or 'This chat'}, {label}: no messages yet."
    lines = [f"🏆 {title or 'This chat'}, {label}:"]
    for i, person in enumerate(people, 1):
        who = _name(person) if names else "·"
        lines.append(f"{i}. {who} {number(person.messages)}")
    if not names:
        lines.append(f"({PSEUDONYMISED})")
    return "\n".join(lines)


def mine(numbers: Mine, label: str) -> str:
    where = numbers.title or "this chat"
    if not numbers.messages:
        return f"🙋 In {where}, {label}: no messages from you."
    share = (
        f"{numbers.messages * 100 / numbers.chat_messages:.1f}%" if numbers.chat_messages else "-"
    )
    lines = [
        f"🙋 In {where}, {label}:",
        f"Your messages: {number(numbers.messages)} ({share} of {number(numbers.chat_messages)})",
        f"Rank: {numbers.rank} of {number(numbers.posters)} posters",
        f"Days you posted: {numbers.days_active}",
    ]
    if numbers.busiest_hour is not None:
        lines.append(f"Your busiest hour: {hour_range(numbers.busiest_hour)}")
    return "\n".join(lines)


WORD_LINES = {"word": "Words", "emoji": "Emoji", "hashtag": "Hashtags", "domain": "Links"}


def words(found: dict[str, list[tuple[str, int]]], title: str | None, label: str) -> str:
    """The ``/words`` answer: a line per kind that has terms, most used first."""
    lines = [
        f"{WORD_LINES[kind]}: " + ", ".join(f"{term} ({number(n)})" for term, n in terms)
        for kind, terms in found.items()
        if terms
    ]
    if not lines:
        return f"💬 {title or 'This chat'}, {label}: no words counted yet."
    return "\n".join([f"💬 {title or 'This chat'}, {label}:", *lines])


WORDS_UNAVAILABLE = (
    "💬 Word statistics are not available in this version of the bot's lake yet: "
    "it counts messages, people and hours, not words."
)
ME_START_PRIVATELY = (
    "I send your numbers privately: open a chat with me, press Start, then send /me again."
)


def help_text(forgetme: bool, digest_at: str, zone: ZoneInfo) -> str:
    lines = [
        "I keep this group's messages in a data lake for its operator, and answer:",
        "/stats [today|week|month] messages, posters, top posters, busiest hour, with a chart",
        "/top [today|week|month] who posted most",
        "/me [today|week|month] your own numbers (privately if you have started me)",
        "/words [today|week|month] what the group talks about",
        f"/digest daily|weekly|off (admins) a summary at {digest_at} ({zone.key})",
        "/alerts N|off (admins) warn admins when more than N people join in 10 minutes",
    ]
    if forgetme:
        lines.append("/forgetme (in a private chat with me) erase everything I hold about you")
    lines.append("The default period is the last 7 days.")
    return "\n".join(lines)


def digest_heading(mode: str, current: Window) -> str:
    if mode == "weekly":
        return f"the week {current.first_day:%b %d} – {current.last_day:%b %d}"
    return f"{current.first_day:%A, %b %d}"


def alert(count: int, threshold: int, title: str | None, private: bool) -> str:
    where = f" {title}" if title and private else " this group"
    return (
        f"⚠️ {count} accounts joined{where} in the last 10 minutes (alert threshold: "
        f"{threshold}). A burst like this is often a spam raid: check the new members. "
        "Change the threshold with /alerts N or turn alerts off with /alerts off."
    )


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})"
