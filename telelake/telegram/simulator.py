"""Simulated group traffic: the webhook bodies Telegram would POST for a week of a busy group.

``telelake demo`` and the tests need realistic input without a bot token or a
network: a supergroup and a small basic group, a few hundred people who mostly
lurk while a handful write most of the messages, a daily rhythm in the group's
time zone with quieter weekends, and the awkward parts of real traffic -
accents, CJK, right-to-left text and multi code-point emoji, entity offsets in
UTF-16 code units, stickers, photo albums, replies, forwards, edits hours
later, joins and leaves, reactions, ``chat_member`` updates and re-deliveries
of identical bytes. Field names and key order follow the Bot API server's own
serialiser, so the bodies look like what Telegram really sends.

Everything comes from one ``random.Random(seed)``: the same arguments always
give the same bytes. :class:`Traffic` carries the ground truth (how many
messages, service messages, edits, re-deliveries) that tests compare with what
the pipeline computed.
"""

from __future__ import annotations

import base64
import heapq
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from telelake.errors import UsageError
from telelake.telegram import simulator_data as data

Json = dict[str, Any]

MAIN_CHAT_ID = -1001234567890
SMALL_CHAT_ID = -4000000001
# Telegram's stand-in sender for anonymous group admins.
ANONYMOUS_ADMIN = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}
REDELIVERY_RATE = 0.03


@dataclass(frozen=True)
class Traffic:
    """Simulated updates in delivery order, and the ground truth about them."""

    bodies: list[bytes]  # delivery order, re-deliveries included (identical bytes)
    unique_updates: int  # distinct update_ids
    redeliveries: int  # len(bodies) - unique_updates
    messages: int  # distinct (chat_id, message_id) of messages people (or bots) wrote
    service_messages: int  # distinct service messages (joins, leaves, pins, title changes)
    edits: int  # distinct edited_message updates
    first_day: date  # local day of the earliest message send date
    last_day: date  # local day of the latest message send date


def simulate(
    *,
    seed: int = 7,
    users: int = 300,
    days: int = 8,
    messages_per_day: int = 400,
    end: date | None = None,
    timezone: str = "America/Sao_Paulo",
) -> Traffic:
    """Simulate ``days`` local days ending on ``end`` (default: yesterday in ``timezone``).

    ``users`` people (plus three bots) share the two chats; ``messages_per_day``
    is the weekday volume of both chats together (weekends are quieter).
    """
    if users < 10 or days < 1 or messages_per_day < 1:
        raise UsageError("simulate needs users >= 10, days >= 1 and messages_per_day >= 1")
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UsageError(f"unknown time zone {timezone!r}") from exc
    last = end if end is not None else datetime.now(zone).date() - timedelta(days=1)
    sim = _Sim(random.Random(seed), zone, last - timedelta(days=days - 1), last, users)
    sim.plan(messages_per_day)
    sim.run()
    return sim.traffic()


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets and lengths."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _User:
    json: Json  # the Bot API User object, shared by every update that mentions them
    lang: str


@dataclass
class _Seg:
    """A piece of message text; every kind but ``plain`` becomes an entity."""

    kind: str
    text: str
    user: Json | None = None


@dataclass
class _Msg:
    chat: _Chat
    message_id: int
    date: int
    head: Json  # from / author_signature / sender_chat, in the server's order
    body: Json  # content fields: text+entities, photo+caption, sticker, service fields
    service: bool = False
    thread_id: int | None = None
    forward: Json | None = None
    reply_to: _Msg | None = None
    media_group_id: str | None = None
    pinned: _Msg | None = None
    segments: list[_Seg] | None = None
    versions: list[tuple[int, Json]] = field(default_factory=list)  # (edit_date, body)

    def to_json(self, at: int, with_reply: bool = True) -> Json:
        """The message as Telegram shows it at time ``at`` (latest edit by then)."""
        edit_date, body = 0, self.body
        for when, version in self.versions:
            if when <= at:
                edit_date, body = when, version
        out: Json = {"message_id": self.message_id, **self.head}
        out["chat"] = self.chat.json_at(at)
        out["date"] = self.date
        if edit_date:
            out["edit_date"] = edit_date
        if self.thread_id is not None:
            out["message_thread_id"] = self.thread_id
        if self.forward is not None:
            out.update(self.forward)
        if with_reply and self.reply_to is not None:
            out["reply_to_message"] = self.reply_to.to_json(at, with_reply=False)
        if self.media_group_id is not None:
            out["media_group_id"] = self.media_group_id
        out.update(body)
        if self.pinned is not None:
            out["pinned_message"] = self.pinned.to_json(at, with_reply=False)
        return out


@dataclass
class _Chat:
    id: int
    type: str
    titles: list[tuple[int, str]]  # (effective from, title), ascending
    username: str | None
    members: list[_User]
    next_id: int
    joined: dict[int, int] = field(default_factory=dict)  # user id -> join time
    left: dict[int, int] = field(default_factory=dict)  # user id -> leave time
    history: list[_Msg] = field(default_factory=list)
    cum: list[float] = field(default_factory=list)

    def json_at(self, at: int) -> Json:
        title = self.titles[0][1]
        for start, name in self.titles:
            if start <= at:
                title = name
        out: Json = {"id": self.id, "title": title}
        if self.username:
            out["username"] = self.username
        out["type"] = self.type
        if self.type == "group":
            out["all_members_are_administrators"] = True
        return out

    def is_member(self, user: _User, at: int) -> bool:
        uid = user.json["id"]
        return self.joined.get(uid, -1) <= at < self.left.get(uid, 1 << 62)

    def pick(self, rng: random.Random, at: int, anchor: _User) -> _User:
        # Heavy-tailed: a few people write most; lurkers only now and then.
        for _ in range(8):
            user = rng.choices(self.members, cum_weights=self.cum)[0]
            if self.is_member(user, at):
                return user
        return anchor


@dataclass(order=True)
class _Pending:
    time: int
    seq: int
    kind: str = field(compare=False)
    msg: _Msg | None = field(compare=False, default=None)
    payload: Json | None = field(compare=False, default=None)


class _Sim:
    """One simulation run: plans the week, then plays it in time order."""

    def __init__(self, rng: random.Random, zone: ZoneInfo, first: date, last: date, n: int):
        self.rng, self.zone, self.first, self.last = rng, zone, first, last
        self.end = self._midnight(last + timedelta(days=1))  # exclusive
        self.seq = 0
        self.slots: list[tuple[int, int, str, tuple[Any, ...]]] = []
        self.pending: list[_Pending] = []
        self.reactions: dict[tuple[int, int, int], list[Json]] = {}
        self.humans = [self._person(i) for i in range(n)]
        ids = rng.sample(range(100_000_000, 7_999_999_999), n + 3)
        for user, uid in zip(self.humans, ids, strict=False):
            user.json["id"] = uid
        self.stats_bot = self._bot(ids[n], "Estatísticas", "GrupoStatsBot")
        self.mod_bot = self._bot(ids[n + 1], "Moderador", "ModeradorBRbot")
        self.poll_bot = self._bot(ids[n + 2], "Enquetes 🗳", "EnqueteFacilBot")
        rng.shuffle(self.humans)  # rank order: index 0 talks the most
        self.anchors = self.humans[: max(3, min(12, n // 4))]
        self.stickers = [
            self._sticker(s, e) for s in data.STICKER_SETS for e in data.STICKER_EMOJI[:5]
        ]
        self.main = _Chat(
            MAIN_CHAT_ID,
            "supergroup",
            [(0, "Dados & Café ☕ — Comunidade")],
            "dadosecafe",
            [*self.humans, self.stats_bot, self.mod_bot],
            rng.randrange(20_000, 90_000),
        )
        others = self.humans[len(self.anchors) :]
        small = self.anchors[:3] + rng.sample(others, min(len(others), 21))
        self.small = _Chat(
            SMALL_CHAT_ID,
            "group",
            [(0, "Churrasco do sábado 🍖")],
            None,
            [*small, self.poll_bot],
            rng.randrange(100, 2_000),
        )
        for chat in (self.main, self.small):
            # Zipf-like ranks (a few people write most) plus a floor so that
            # lurkers still say something now and then; bots speak only when
            # spoken to, so their weight is zero.
            people = sum(not m.json["is_bot"] for m in chat.members)
            zipf = sum(1 / (rank + 1) ** 1.2 for rank in range(people))
            total, chat.cum = 0.0, []
            for rank, member in enumerate(chat.members):
                if not member.json["is_bot"]:
                    total += 0.8 / (rank + 1) ** 1.2 / zipf + 0.2 / people
                chat.cum.append(total)

    # -- building blocks -------------------------------------------------

    def _midnight(self, day: date) -> int:
        # Epoch of local midnight: days with a DST change keep their real length.
        return int(datetime.combine(day, time(0), tzinfo=self.zone).timestamp())

    def _moment(self, day: date) -> int:
        hours = data.WEEKEND_HOURS if day.weekday() >= 5 else data.WEEKDAY_HOURS
        hour = self.rng.choices(range(24), weights=hours)[0]
        when = datetime.combine(day, time(hour, self.rng.randrange(60), self.rng.randrange(60)))
        # A wall time inside a DST gap maps an hour on; never onto another day.
        last = self._midnight(day + timedelta(days=1)) - 1
        return min(int(when.replace(tzinfo=self.zone).timestamp()), last)

    def _file_id(self, prefix: str, size: int = 30) -> str:
        return prefix + base64.urlsafe_b64encode(self.rng.randbytes(size)).decode().rstrip("=")

    def _person(self, index: int) -> _User:
        rng = self.rng
        langs = list(data.LANGS)
        lang = rng.choices(langs, weights=[data.LANGS[k][0] for k in langs])[0]
        _, firsts, lasts, _ = data.LANGS[lang]
        first = rng.choice(firsts) + (rng.choice(data.NAME_FLAIR) if rng.random() < 0.08 else "")
        user: Json = {"id": 0, "is_bot": False, "first_name": first}
        if rng.random() < 0.6:
            user["last_name"] = rng.choice(lasts)
        if rng.random() < 0.7:
            words = rng.sample(data.USERNAME_WORDS, 2)
            user["username"] = f"{words[0]}_{words[1]}{index}"
        if rng.random() < 0.85:
            user["language_code"] = "pt-br" if lang == "pt" and rng.random() < 0.5 else lang
        if rng.random() < 0.12:
            user["is_premium"] = True
        return _User(user, lang)

    def _bot(self, uid: int, name: str, username: str) -> _User:
        return _User({"id": uid, "is_bot": True, "first_name": name, "username": username}, "pt")

    def _sticker(self, kind: tuple[str, bool, bool], emoji: str) -> Json:
        set_name, animated, video = kind
        side = 512 if animated or video else self.rng.choice([512, 480, 360])
        thumb = {
            "file_id": self._file_id("AAMCAgADGQEAA"),
            "file_unique_id": self._file_id("AQAD", 9),
            "file_size": self.rng.randrange(3_000, 9_000),
            "width": 128,
            "height": 128 * side // 512,
        }
        return {
            "width": 512,
            "height": side,
            "emoji": emoji,
            "set_name": set_name,
            "is_animated": animated,
            "is_video": video,
            "type": "regular",
            "thumbnail": thumb,
            "thumb": thumb,
            "file_id": self._file_id("CAACAgIAAxkBAAI"),
            "file_unique_id": self._file_id("AgAD", 9),
            "file_size": self.rng.randrange(12_000, 250_000),
        }

    def _photo(self) -> list[Json]:
        width, height = self.rng.choice([(1280, 960), (960, 1280), (1280, 720), (1080, 1080)])
        sizes = []
        for side in (90, 320, 800, 1280):
            scale = min(1.0, side / max(width, height))
            w, h = round(width * scale), round(height * scale)
            sizes.append(
                {
                    "file_id": self._file_id("AgACAgEAAxkBAAI"),
                    "file_unique_id": self._file_id("AQAD", 9),
                    "file_size": int(w * h * self.rng.uniform(0.08, 0.16)),
                    "width": w,
                    "height": h,
                }
            )
        return sizes

    def _add_slot(self, at: int, kind: str, *args: Any) -> None:
        self.seq += 1
        heapq.heappush(self.slots, (at, self.seq, kind, args))

    def _emit(
        self, at: int, kind: str, msg: _Msg | None = None, payload: Json | None = None
    ) -> None:
        self.seq += 1
        self.pending.append(_Pending(at, self.seq, kind, msg, payload))

    def _later(self, at: int, delay: float) -> int:
        # Keep follow-ups inside the simulated week whenever there is room.
        return max(at, min(at + int(delay), self.end - 1))

    # -- text ------------------------------------------------------------

    def _segments(self, user: _User, chat: _Chat) -> list[_Seg]:
        rng = self.rng
        if rng.random() < 0.22:
            return [_Seg("plain", rng.choice(data.SHORT))]
        roll = rng.random()
        count = 1 if roll < 0.55 else rng.randint(2, 3) if roll < 0.9 else rng.randint(4, 9)
        pool = data.LANGS[user.lang if rng.random() < 0.8 else "pt"][3]
        if count > len(pool):  # long messages borrow from the group's language
            pool = list(dict.fromkeys(pool + data.LANGS["pt"][3]))
        joiner = "\n" if count > 3 and rng.random() < 0.5 else " "
        segs = [_Seg("plain", joiner.join(rng.sample(pool, min(count, len(pool)))))]
        if rng.random() < 0.08:
            segs.insert(0, _Seg("plain", rng.choice(data.EMOJI)))
        if rng.random() < 0.08:
            named = [m for m in chat.members if "username" in m.json and m is not user]
            if named:
                segs.insert(0, _Seg("mention", "@" + rng.choice(named).json["username"]))
        if rng.random() < 0.02:
            other = rng.choice(chat.members).json
            if "username" not in other:
                segs.insert(0, _Seg("text_mention", other["first_name"], other))
        if rng.random() < 0.03:
            segs.append(_Seg("bold", rng.choice(data.BOLD)))
        if rng.random() < 0.06:
            segs.append(_Seg("url", rng.choice(data.URLS)))
        if rng.random() < 0.08:
            segs.append(_Seg("hashtag", rng.choice(data.HASHTAGS)))
        if rng.random() < 0.25:
            segs.append(_Seg("plain", "".join(rng.choices(data.EMOJI, k=rng.randint(1, 3)))))
        return segs

    @staticmethod
    def _render(segs: list[_Seg], key: str) -> Json:
        """``{key: text, <key's entities>: [...]}`` with offsets in UTF-16 code units."""
        entities: list[Json] = []
        offset = 0
        for index, seg in enumerate(segs):
            offset += 1 if index else 0  # the joining space
            length = utf16_len(seg.text)
            if seg.kind != "plain":
                entity: Json = {"offset": offset, "length": length, "type": seg.kind}
                if seg.user is not None:
                    entity["user"] = seg.user
                entities.append(entity)
            offset += length
        out: Json = {key: " ".join(seg.text for seg in segs)}
        if entities:
            out["entities" if key == "text" else "caption_entities"] = entities
        return out

    # -- planning --------------------------------------------------------

    def plan(self, per_day: int) -> None:
        rng, day = self.rng, self.first
        while day <= self.last:
            volume = per_day * data.DAY_VOLUME[day.weekday()] * rng.uniform(0.85, 1.15)
            main = max(1, round(volume * 0.88))
            for chat, count in ((self.main, main), (self.small, round(volume) - main)):
                self._plan_bursts(chat, day, count)
            day += timedelta(days=1)
        self._plan_membership(
            self.main,
            max(1, round(len(self.humans) * 0.06)),
            max(1, round(len(self.humans) * 0.03)),
        )
        self._plan_membership(self.small, 1, 1)
        days = (self.last - self.first).days
        bot_at = self._moment(self.first + timedelta(days=rng.randint(0, days)))
        self.small.joined[self.poll_bot.json["id"]] = bot_at
        self._add_slot(bot_at, "join", self.small, self.small.members[0], [self.poll_bot], False)
        retitle = self._moment(self.first + timedelta(days=rng.randint(0, days)))
        self.small.titles.append((retitle, "Churrasco do sábado 🍖🔥"))
        self._add_slot(retitle, "title", self.small, "Churrasco do sábado 🍖🔥")
        self._add_slot(self._moment(self.first + timedelta(days=days // 2)), "pin", self.main)
        promoted = rng.choice(self.anchors[1:])
        at = self._moment(self.first + timedelta(days=rng.randint(0, days)))
        self._emit(
            at,
            "chat_member",
            payload=self._member_update(
                self.main, at, self.anchors[0], promoted, "member", "administrator"
            ),
        )

    def _plan_bursts(self, chat: _Chat, day: date, count: int) -> None:
        # Conversations come in bursts: a start from the daily curve, then
        # messages tens of seconds apart.
        lo, hi = self._midnight(day), self._midnight(day + timedelta(days=1)) - 1
        while count > 0:
            size = min(count, 1 + int(self.rng.expovariate(1 / 5)))
            at = float(self._moment(day))
            for _ in range(size):
                slot = int(at) if lo <= at <= hi else hi - self.rng.randrange(900)
                self._add_slot(slot, "msg", chat)
                at += 2 + self.rng.expovariate(1 / 50)
            count -= size

    def _plan_membership(self, chat: _Chat, joins: int, leaves: int) -> None:
        rng = self.rng
        days = (self.last - self.first).days
        movable = [m for m in chat.members if m not in self.anchors and not m.json["is_bot"]]
        chosen = rng.sample(movable, min(len(movable), joins + leaves))
        joiners, leavers = chosen[:joins], chosen[joins:]
        index = 0
        while index < len(joiners):
            # Sometimes an admin adds two people at once.
            batch = joiners[index : index + (2 if rng.random() < 0.2 else 1)]
            at = self._moment(self.first + timedelta(days=rng.randint(0, days)))
            by_link = len(batch) == 1 and rng.random() < 0.7
            adder = batch[0] if by_link else chat.members[0]
            for user in batch:
                chat.joined[user.json["id"]] = at
            self._add_slot(at, "join", chat, adder, batch, by_link)
            index += len(batch)
        for user in leavers:
            at = self._moment(self.first + timedelta(days=rng.randint(0, days)))
            chat.left[user.json["id"]] = at
            kicker = chat.members[0] if rng.random() < 0.25 else None
            self._add_slot(at, "leave", chat, user, kicker)

    # -- playing ---------------------------------------------------------

    def run(self) -> None:
        while self.slots:
            at, _, kind, args = heapq.heappop(self.slots)
            getattr(self, f"_do_{kind}")(at, *args)

    def _new(self, chat: _Chat, at: int, head: Json, body: Json, **extra: Any) -> _Msg:
        msg = _Msg(chat, chat.next_id, at, head, body, **extra)
        chat.next_id += 1
        chat.history.append(msg)
        self._emit(at, "message", msg)
        return msg

    def _do_msg(self, at: int, chat: _Chat) -> None:
        rng = self.rng
        sender = chat.pick(rng, at, self.anchors[0])
        head: Json = {"from": sender.json}
        if chat is self.main and rng.random() < 0.004:
            head = {
                "from": ANONYMOUS_ADMIN,
                "author_signature": "Admin",
                "sender_chat": chat.json_at(at),
            }
        roll = rng.random()
        if roll < 0.03:
            return self._command(at, chat, head)
        extra: Json = {}
        if rng.random() < 0.05:
            extra["forward"] = self._forward(at)
        elif rng.random() < 0.2 and chat.history:
            back = min(len(chat.history), 1 + int(rng.expovariate(1 / 4)))
            extra.update(self._reply(chat, chat.history[-back]))
        if roll < 0.13 and "forward" not in extra:
            body: Json = {"sticker": rng.choice(self.stickers)}
            msg = self._new(chat, at, head, body, **extra)
        elif roll < 0.24:
            msg = self._photos(at, chat, sender, head, extra)
        else:
            segs = self._segments(sender, chat)
            msg = self._new(chat, at, head, self._render(segs, "text"), segments=segs, **extra)
        if msg.segments is not None and rng.random() < 0.06:
            self._edit(msg)
        if rng.random() < 0.04:
            self._react(msg)

    def _photos(self, at: int, chat: _Chat, sender: _User, head: Json, extra: Json) -> _Msg:
        rng = self.rng
        body: Json = {"photo": self._photo()}
        segs = None
        if rng.random() < 0.6:
            segs = self._segments(sender, chat)
            body.update(self._render(segs, "caption"))
        album = rng.random() < 0.2 and "forward" not in extra
        if album:
            extra["media_group_id"] = str(rng.randrange(10**17, 10**18))
        first = self._new(chat, at, head, body, segments=segs, **extra)
        if album:
            for index in range(rng.randint(1, 3)):
                self._add_slot(at + index // 2, "album", chat, head, extra["media_group_id"])
        return first

    def _do_album(self, at: int, chat: _Chat, head: Json, group: str) -> None:
        self._new(chat, at, head, {"photo": self._photo()}, media_group_id=group)

    def _reply(self, chat: _Chat, target: _Msg) -> Json:
        extra: Json = {"reply_to": target}
        if chat.type == "supergroup":
            # Supergroups thread replies under the first message of the chain.
            extra["thread_id"] = target.thread_id or target.message_id
        return extra

    def _forward(self, at: int) -> Json:
        rng = self.rng
        when = at - rng.randrange(3_600, 30 * 86_400)
        kind = rng.choices(["user", "channel", "hidden_user"], weights=[5, 3.5, 1.5])[0]
        if kind == "user":
            user = rng.choice(self.humans).json
            return {
                "forward_origin": {"type": "user", "sender_user": user, "date": when},
                "forward_from": user,
                "forward_date": when,
            }
        if kind == "channel":
            chat, post = rng.choice(data.CHANNELS), rng.randrange(100, 40_000)
            origin: Json = {"type": "channel", "chat": chat, "message_id": post, "date": when}
            legacy: Json = {"forward_from_chat": chat, "forward_from_message_id": post}
            if rng.random() < 0.3:
                origin["author_signature"] = legacy["forward_signature"] = "Redação"
            return {"forward_origin": origin, **legacy, "forward_date": when}
        name = rng.choice(data.HIDDEN_NAMES)
        return {
            "forward_origin": {"type": "hidden_user", "sender_user_name": name, "date": when},
            "forward_sender_name": name,
            "forward_date": when,
        }

    def _command(self, at: int, chat: _Chat, head: Json) -> None:
        bot = self.stats_bot if chat is self.main else self.poll_bot
        command = self.rng.choice(["/stats", "/top", "/regras"]) + "@" + bot.json["username"]
        segs = [_Seg("bot_command", command)]
        msg = self._new(chat, at, head, self._render(segs, "text"), segments=segs)
        if chat.is_member(bot, at):
            self._add_slot(at + self.rng.randint(1, 4), "bot_reply", chat, bot, msg)

    def _do_bot_reply(self, at: int, chat: _Chat, bot: _User, command: _Msg) -> None:
        top = self.anchors[:3]
        lines = ["📊 Ranking de hoje"] + [
            f"{i}. {u.json['first_name']} — {self.rng.randint(5, 90)}" for i, u in enumerate(top, 1)
        ]
        segs = [_Seg("plain", "\n".join(lines))]
        self._new(
            chat,
            at,
            {"from": bot.json},
            self._render(segs, "text"),
            segments=segs,
            **self._reply(chat, command),
        )

    def _edit(self, msg: _Msg) -> None:
        rng, at = self.rng, msg.date
        key = "text" if "text" in msg.body else "caption"
        segs = list(msg.segments or [])
        for _ in range(2 if rng.random() < 0.15 else 1):
            roll = rng.random()
            delay = (
                rng.uniform(10, 300)
                if roll < 0.7
                else rng.uniform(600, 3 * 3600)
                if roll < 0.9
                else rng.uniform(5 * 3600, 30 * 3600)
            )
            # An edit is strictly later than what it edits, even at the week's edge.
            at = max(at + 1, self._later(at, delay))
            addition = rng.choice(
                [
                    _Seg("plain", rng.choice(data.EDIT_SUFFIX)),
                    _Seg("url", rng.choice(data.URLS)),
                    _Seg("hashtag", rng.choice(data.HASHTAGS)),
                ]
            )
            segs = [*segs, addition]
            body = dict(msg.body)
            body.pop("caption_entities", None)
            body.pop("entities", None)
            body.update(self._render(segs, key))
            msg.versions.append((at, body))
            self._emit(at, "edited_message", msg)

    def _react(self, msg: _Msg) -> None:
        rng, chat = self.rng, msg.chat
        reactors: list[_User] = []
        for _ in range(rng.randint(1, 4)):
            user = chat.pick(rng, msg.date, self.anchors[0])
            if user not in reactors and user.json is not msg.head["from"]:
                reactors.append(user)
        for user in reactors:
            at = self._later(msg.date, rng.expovariate(1 / 1800))
            self._reaction(msg, user, at, [{"type": "emoji", "emoji": rng.choice(data.REACTIONS)}])
            if rng.random() < 0.1:
                at = self._later(at, rng.uniform(5, 7200))
                new = [] if rng.random() < 0.5 else [{"type": "emoji", "emoji": "🔥"}]
                self._reaction(msg, user, at, new)
        if chat is self.main and rng.random() < 0.05:
            at = self._later(msg.date, rng.uniform(10, 900))
            self._reaction(msg, None, at, [{"type": "emoji", "emoji": "🎉"}])

    def _reaction(self, msg: _Msg, user: _User | None, at: int, new: list[Json]) -> None:
        key = (msg.chat.id, msg.message_id, user.json["id"] if user else 0)
        payload: Json = {"chat": msg.chat.json_at(at), "message_id": msg.message_id}
        if user is None:
            payload["actor_chat"] = msg.chat.json_at(at)  # an anonymous admin
        else:
            payload["user"] = user.json
        payload.update(date=at, old_reaction=self.reactions.get(key, []), new_reaction=new)
        self.reactions[key] = new
        self._emit(at, "message_reaction", payload=payload)

    def _member_update(
        self, chat: _Chat, at: int, actor: _User, user: _User, old: str, new: str
    ) -> Json:
        def member(status: str) -> Json:
            out: Json = {"status": status, "user": user.json}
            if status == "kicked":
                out["until_date"] = 0
            if status == "administrator":
                rights = [
                    "can_manage_chat",
                    "can_delete_messages",
                    "can_manage_video_chats",
                    "can_restrict_members",
                    "can_promote_members",
                    "can_change_info",
                    "can_invite_users",
                    "can_pin_messages",
                ]
                out.update(can_be_edited=False, is_anonymous=False)
                out.update({right: right != "can_promote_members" for right in rights})
            return out

        return {
            "chat": chat.json_at(at),
            "from": actor.json,
            "date": at,
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }

    def _do_join(
        self, at: int, chat: _Chat, adder: _User, users: list[_User], by_link: bool
    ) -> None:
        first = users[0].json
        body = {
            "new_chat_participant": first,
            "new_chat_member": first,
            "new_chat_members": [u.json for u in users],
        }
        msg = self._new(chat, at, {"from": adder.json}, body, service=True)
        for user in users:
            update = self._member_update(chat, at, adder, user, "left", "member")
            if by_link:
                update["invite_link"] = {
                    "invite_link": "https://t.me/+AbCdEf...",
                    "creator": chat.members[0].json,
                    "creates_join_request": False,
                    "is_primary": False,
                    "is_revoked": False,
                    "name": "Instagram",
                }
            self._emit(at, "chat_member", payload=update)
        if chat is self.main and self.rng.random() < 0.6:
            self._add_slot(at + self.rng.randint(2, 10), "welcome", chat, msg, users[0])

    def _do_welcome(self, at: int, chat: _Chat, join: _Msg, user: _User) -> None:
        name = user.json.get("username")
        who = (
            _Seg("mention", "@" + name)
            if name
            else _Seg("text_mention", user.json["first_name"], user.json)
        )
        segs = [
            _Seg("plain", "Bem-vindo(a),"),
            who,
            _Seg("plain", "👋 Leia as regras:"),
            _Seg("url", "https://t.me/dadosecafe/3"),
        ]
        self._new(
            chat,
            at,
            {"from": self.mod_bot.json},
            self._render(segs, "text"),
            segments=segs,
            **self._reply(chat, join),
        )

    def _do_leave(self, at: int, chat: _Chat, user: _User, kicker: _User | None) -> None:
        body = {"left_chat_participant": user.json, "left_chat_member": user.json}
        self._new(chat, at, {"from": (kicker or user).json}, body, service=True)
        status = "kicked" if kicker else "left"
        self._emit(
            at,
            "chat_member",
            payload=self._member_update(chat, at, kicker or user, user, "member", status),
        )

    def _do_title(self, at: int, chat: _Chat, title: str) -> None:
        self._new(chat, at, {"from": chat.members[0].json}, {"new_chat_title": title}, service=True)

    def _do_pin(self, at: int, chat: _Chat) -> None:
        candidates = [m for m in chat.history[-80:] if not m.service and "text" in m.body]
        if candidates:
            target = max(candidates, key=lambda m: len(m.body["text"]))
            self._new(chat, at, {"from": self.anchors[0].json}, {}, service=True, pinned=target)

    # -- delivery --------------------------------------------------------

    def traffic(self) -> Traffic:
        self.pending.sort()
        base = self.rng.randrange(100_000_000, 900_000_000)
        unique: list[bytes] = []
        sent: list[int] = []
        for index, item in enumerate(self.pending):
            payload = item.msg.to_json(item.time) if item.msg is not None else item.payload
            unique.append(orjson.dumps({"update_id": base + index, item.kind: payload}))
            if item.kind == "message" and item.msg is not None:
                sent.append(item.msg.date)
        # A re-delivery is the same bytes again a little later, as when
        # Telegram retries an update whose acknowledgement it did not get.
        order: list[tuple[float, int, bytes]] = []
        for index, body in enumerate(unique):
            order.append((index, 0, body))
            if self.rng.random() < REDELIVERY_RATE:
                for copy in range(1 if self.rng.random() < 0.9 else 2):
                    order.append((index + self.rng.uniform(0.5, 40), copy + 1, body))
        order.sort(key=lambda entry: (entry[0], entry[1]))
        messages = [p.msg for p in self.pending if p.kind == "message" and p.msg is not None]
        local = [datetime.fromtimestamp(t, UTC).astimezone(self.zone).date() for t in sent]
        return Traffic(
            bodies=[body for _, _, body in order],
            unique_updates=len(unique),
            redeliveries=len(order) - len(unique),
            messages=sum(not m.service for m in messages),
            service_messages=sum(m.service for m in messages),
            edits=sum(p.kind == "edited_message" for p in self.pending),
            first_day=min(local),
            last_day=max(local),
        )
