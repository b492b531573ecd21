"""What one emoji is, and how ``telegram_terms`` writes it: part of the table contract.

The text stage splits messages into whole emoji with :func:`emoji_table` and
stores each as :func:`canonical_emoji`; a report that looks a term up (the
``--term`` search) must write it the same way, so both read it from here,
beneath the stages. The emoji list comes from the ``emoji`` package (BSD),
imported only when first needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

# Skin tones and the emoji presentation selector: a 👍🏽 is a 👍, a ❤ a ❤️.
_MODIFIERS = re.compile("[\U0001f3fb-\U0001f3ff\ufe0f]")
_TONES = re.compile("[\U0001f3fb-\U0001f3ff]")


@dataclass(frozen=True)
class EmojiTable:
    pattern: re.Pattern[str]
    canonical: dict[str, str]
    # Any character an emoji can start with (and a few more): a text without one
    # has no emoji, which one quick search tells.
    candidate: re.Pattern[str]


@cache
def emoji_table() -> EmojiTable:
    """A pattern matching one whole emoji at a time, and each emoji's canonical form.

    Built from the Unicode emoji list (the ``emoji`` package): a sequence joined
    by ZWJ (👨‍👩‍👧), with skin tones (👍🏽), a flag (two regional indicators,
    or a tag sequence) or a keycap is one match. A character that is text by
    default (©, ™, ↔, …) counts only with the emoji selector U+FE0F, except the
    pictographs of U+2600–U+27BF (☺, ❤, ✔, …) that chats send without it.
    """
    import emoji

    fully = emoji.STATUS["fully_qualified"]
    alone: set[str] = set()  # emoji by default, alone
    selected: set[str] = set()  # emoji when followed by U+FE0F
    canonical: dict[str, str] = {}
    for text, data in emoji.EMOJI_DATA.items():
        first = text[0]
        if len(text) == 1 and data.get("status") == fully:
            alone.add(first)
        elif not ("0" <= first <= "9" or first in "#*"):
            selected.add(first)
        if data.get("status") == fully and not _TONES.search(text):
            canonical[_MODIFIERS.sub("", text)] = text
    regional = "\U0001f1e6-\U0001f1ff"
    alone -= set(chr(c) for c in range(0x1F1E6, 0x1F200))
    alone |= {c for c in selected if 0x2600 <= ord(c) <= 0x27BF}
    selected -= alone
    # Ranges, not thousands of single characters: outside the BMP the re module
    # tests a class item by item, so its length is the cost of every character.
    alone_class, selected_class = _ranges(alone), _ranges(selected)
    element = (
        f"(?:[{alone_class}]\ufe0f?|[{selected_class}]\ufe0f)"
        "[\U0001f3fb-\U0001f3ff]?(?:[\U000e0020-\U000e007e]+\U000e007f)?"
    )
    joined = f"(?:{element}|[{alone_class}{selected_class}]\ufe0f?)"
    pattern = (
        f"[{regional}][{regional}]|[#*0-9]\ufe0f?\u20e3|{element}(?:\u200d{joined}"
        "[\U0001f3fb-\U0001f3ff]?)*"
    )
    starters = alone | selected | {chr(c) for c in range(0x1F1E6, 0x1F200)} | {"\u20e3"}
    return EmojiTable(re.compile(pattern), canonical, re.compile(f"[{_ranges(starters, 256)}]"))


def _ranges(chars: set[str], gap: int = 1) -> str:
    """A character class body for ``chars``: runs closer than ``gap`` merged into ranges."""
    codes = sorted(ord(c) for c in chars)
    runs: list[list[int]] = []
    for code in codes:
        if runs and code - runs[-1][1] <= gap:
            runs[-1][1] = code
        else:
            runs.append([code, code])
    return "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in runs
    )


def canonical_emoji(text: str) -> str:
    """One emoji as a term: skin tones removed, U+FE0F as in its fully qualified form."""
    stripped = _MODIFIERS.sub("", text)
    return emoji_table().canonical.get(stripped, stripped)
