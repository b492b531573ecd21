"""The cast of the simulation: who is in which chat, and how much each one talks.

Built once, before anything happens: a few hundred people with names and
languages from the vocabulary, three bots, the stickers the group uses, and
two chats (a supergroup everyone is in and a small basic group of regulars
and friends). Activity is heavy-tailed, as in real groups: a handful of
people write most of the messages while most members lurk.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from telelake.demo import vocabulary as vocab
from telelake.demo.content import sticker
from telelake.demo.world import Chat, Json, User

MAIN_CHAT_ID = -1001234567890
SMALL_CHAT_ID = -4000000001


@dataclass
class Cast:
    humans: list[User]  # rank order: index 0 talks the most
    anchors: list[User]  # the regulars: never join or leave, run the chats
    stats_bot: User  # answers commands in the main chat
    mod_bot: User  # welcomes newcomers to the main chat
    poll_bot: User  # answers commands in the small chat, which it joins mid-week
    stickers: list[Json]
    main: Chat
    small: Chat


def gather(rng: random.Random, n: int) -> Cast:
    """``n`` people, three bots and the two chats they share."""
    humans = [person(rng, i) for i in range(n)]
    ids = rng.sample(range(100_000_000, 7_999_999_999), n + 3)
    for user, uid in zip(humans, ids, strict=False):
        user.json["id"] = uid
    stats_bot = bot(ids[n], "Estatísticas", "GrupoStatsBot")
    mod_bot = bot(ids[n + 1], "Moderador", "ModeradorBRbot")
    poll_bot = bot(ids[n + 2], "Enquetes 🗳", "EnqueteFacilBot")
    rng.shuffle(humans)
    anchors = humans[: max(3, min(12, n // 4))]
    stickers = [sticker(rng, s, e) for s in vocab.STICKER_SETS for e in vocab.STICKER_EMOJI[:5]]
    main = Chat(
        MAIN_CHAT_ID,
        "supergroup",
        [(0, "Dados & Café ☕ — Comunidade")],
        "dadosecafe",
        [*humans, stats_bot, mod_bot],
        rng.randrange(20_000, 90_000),
    )
    others = humans[len(anchors) :]
    friends = anchors[:3] + rng.sample(others, min(len(others), 21))
    small = Chat(
        SMALL_CHAT_ID,
        "group",
        [(0, "Churrasco do sábado 🍖")],
        None,
        [*friends, poll_bot],
        rng.randrange(100, 2_000),
    )
    for chat in (main, small):
        chat.cum = speaking_weights(chat.members)
    return Cast(humans, anchors, stats_bot, mod_bot, poll_bot, stickers, main, small)


def speaking_weights(members: list[User]) -> list[float]:
    """Cumulative weights of who speaks next, for ``random.choices(cum_weights=...)``."""
    # Zipf-like ranks (a few people write most) plus a floor so that lurkers
    # still say something now and then; bots speak only when spoken to, so
    # their weight is zero.
    people = sum(not m.json["is_bot"] for m in members)
    zipf = sum(1 / (rank + 1) ** 1.2 for rank in range(people))
    total, cum = 0.0, []
    for rank, member in enumerate(members):
        if not member.json["is_bot"]:
            total += 0.8 / (rank + 1) ** 1.2 / zipf + 0.2 / people
        cum.append(total)
    return cum


def person(rng: random.Random, index: int) -> User:
    """A member with a name in their language; ``index`` keeps usernames unique."""
    langs = list(vocab.LANGS)
    lang = rng.choices(langs, weights=[vocab.LANGS[k][0] for k in langs])[0]
    _, firsts, lasts, _ = vocab.LANGS[lang]
    first = rng.choice(firsts) + (rng.choice(vocab.NAME_FLAIR) if rng.random() < 0.08 else "")
    user: Json = {"id": 0, "is_bot": False, "first_name": first}
    if rng.random() < 0.6:
        user["last_name"] = rng.choice(lasts)
    if rng.random() < 0.7:
        words = rng.sample(vocab.USERNAME_WORDS, 2)
        user["username"] = f"{words[0]}_{words[1]}{index}"
    if rng.random() < 0.85:
        user["language_code"] = "pt-br" if lang == "pt" and rng.random() < 0.5 else lang
    if rng.random() < 0.12:
        user["is_premium"] = True
    return User(user, lang)


def bot(uid: int, name: str, username: str) -> User:
    return User({"id": uid, "is_bot": True, "first_name": name, "username": username}, "pt")
