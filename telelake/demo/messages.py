"""What people do in the chats: write, reply, forward, post photos, edit and react.

Each planned ``msg`` slot becomes one message (text, sticker, photo or photo
album, sometimes a bot command that a bot answers), and some messages are
later edited or reacted to. This is where the awkward parts of real traffic
come from: anonymous admins, forwards from users, channels and hidden
senders, albums sharing a ``media_group_id``, edits hours later and
reactions that are changed or withdrawn.
"""

from __future__ import annotations

from telelake.demo import vocabulary as vocab
from telelake.demo.content import photo, render, segments
from telelake.demo.timeline import Timeline
from telelake.demo.world import Chat, Json, Msg, Seg, User, reply_fields

# Telegram's stand-in sender for anonymous group admins.
ANONYMOUS_ADMIN = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}


class Messages(Timeline):
    """Plays ``msg``, ``album`` and ``bot_reply`` slots."""

    def _do_msg(self, at: int, chat: Chat) -> None:
        rng = self.rng
        sender = chat.pick(rng, at, self.cast.anchors[0])
        head: Json = {"from": sender.json}
        if chat is self.cast.main and rng.random() < 0.004:
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
            extra.update(reply_fields(chat, chat.history[-back]))
        if roll < 0.13 and "forward" not in extra:
            body: Json = {"sticker": rng.choice(self.cast.stickers)}
            msg = self._new(chat, at, head, body, **extra)
        elif roll < 0.24:
            msg = self._photos(at, chat, sender, head, extra)
        else:
            segs = segments(rng, sender, chat)
            msg = self._new(chat, at, head, render(segs, "text"), segments=segs, **extra)
        if msg.segments is not None and rng.random() < 0.06:
            self._edit(msg)
        if rng.random() < 0.04:
            self._react(msg)

    def _photos(self, at: int, chat: Chat, sender: User, head: Json, extra: Json) -> Msg:
        """A photo, maybe captioned, maybe the first of an album that follows."""
        rng = self.rng
        body: Json = {"photo": photo(rng)}
        segs = None
        if rng.random() < 0.6:
            segs = segments(rng, sender, chat)
            body.update(render(segs, "caption"))
        album = rng.random() < 0.2 and "forward" not in extra
        if album:
            extra["media_group_id"] = str(rng.randrange(10**17, 10**18))
        first = self._new(chat, at, head, body, segments=segs, **extra)
        if album:
            for index in range(rng.randint(1, 3)):
                self._add_slot(at + index // 2, "album", chat, head, extra["media_group_id"])
        return first

    def _do_album(self, at: int, chat: Chat, head: Json, group: str) -> None:
        self._new(chat, at, head, {"photo": photo(self.rng)}, media_group_id=group)

    def _forward(self, at: int) -> Json:
        """The forward fields, new ``forward_origin`` and legacy ones, of a forward."""
        rng = self.rng
        when = at - rng.randrange(3_600, 30 * 86_400)
        kind = rng.choices(["user", "channel", "hidden_user"], weights=[5, 3.5, 1.5])[0]
        if kind == "user":
            user = rng.choice(self.cast.humans).json
            return {
                "forward_origin": {"type": "user", "sender_user": user, "date": when},
                "forward_from": user,
                "forward_date": when,
            }
        if kind == "channel":
            chat, post = rng.choice(vocab.CHANNELS), rng.randrange(100, 40_000)
            origin: Json = {"type": "channel", "chat": chat, "message_id": post, "date": when}
            legacy: Json = {"forward_from_chat": chat, "forward_from_message_id": post}
            if rng.random() < 0.3:
                origin["author_signature"] = legacy["forward_signature"] = "Redação"
            return {"forward_origin": origin, **legacy, "forward_date": when}
        name = rng.choice(vocab.HIDDEN_NAMES)
        return {
            "forward_origin": {"type": "hidden_user", "sender_user_name": name, "date": when},
            "forward_sender_name": name,
            "forward_date": when,
        }

    def _command(self, at: int, chat: Chat, head: Json) -> None:
        bot = self.cast.stats_bot if chat is self.cast.main else self.cast.poll_bot
        command = self.rng.choice(["/stats", "/top", "/regras"]) + "@" + bot.json["username"]
        segs = [Seg("bot_command", command)]
        msg = self._new(chat, at, head, render(segs, "text"), segments=segs)
        if chat.is_member(bot, at):
            self._add_slot(at + self.rng.randint(1, 4), "bot_reply", chat, bot, msg)

    def _do_bot_reply(self, at: int, chat: Chat, bot: User, command: Msg) -> None:
        top = self.cast.anchors[:3]
        lines = ["📊 Ranking de hoje"] + [
            f"{i}. {u.json['first_name']} — {self.rng.randint(5, 90)}" for i, u in enumerate(top, 1)
        ]
        segs = [Seg("plain", "\n".join(lines))]
        self._new(
            chat,
            at,
            {"from": bot.json},
            render(segs, "text"),
            segments=segs,
            **reply_fields(chat, command),
        )

    def _edit(self, msg: Msg) -> None:
        """One or two later versions of ``msg``'s text, each with one more segment."""
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
                    Seg("plain", rng.choice(vocab.EDIT_SUFFIX)),
                    Seg("url", rng.choice(vocab.URLS)),
                    Seg("hashtag", rng.choice(vocab.HASHTAGS)),
                ]
            )
            segs = [*segs, addition]
            body = dict(msg.body)
            body.pop("caption_entities", None)
            body.pop("entities", None)
            body.update(render(segs, key))
            msg.versions.append((at, body))
            self._emit(at, "edited_message", msg)

    def _react(self, msg: Msg) -> None:
        """Reactions from a few members (some changed later), rarely an anonymous admin's."""
        rng, chat = self.rng, msg.chat
        reactors: list[User] = []
        for _ in range(rng.randint(1, 4)):
            user = chat.pick(rng, msg.date, self.cast.anchors[0])
            if user not in reactors and user.json is not msg.head["from"]:
                reactors.append(user)
        for user in reactors:
            at = self._later(msg.date, rng.expovariate(1 / 1800))
            self._reaction(msg, user, at, [{"type": "emoji", "emoji": rng.choice(vocab.REACTIONS)}])
            if rng.random() < 0.1:
                at = self._later(at, rng.uniform(5, 7200))
                new = [] if rng.random() < 0.5 else [{"type": "emoji", "emoji": "🔥"}]
                self._reaction(msg, user, at, new)
        if chat is self.cast.main and rng.random() < 0.05:
            at = self._later(msg.date, rng.uniform(10, 900))
            self._reaction(msg, None, at, [{"type": "emoji", "emoji": "🎉"}])

    def _reaction(self, msg: Msg, user: User | None, at: int, new: list[Json]) -> None:
        """A ``message_reaction`` update: ``user``'s reaction goes from the last one to ``new``."""
        key = (msg.chat.id, msg.message_id, user.json["id"] if user else 0)
        payload: Json = {"chat": msg.chat.json_at(at), "message_id": msg.message_id}
        if user is None:
            payload["actor_chat"] = msg.chat.json_at(at)  # an anonymous admin
        else:
            payload["user"] = user.json
        payload.update(date=at, old_reaction=self.reactions.get(key, []), new_reaction=new)
        self.reactions[key] = new
        self._emit(at, "message_reaction", payload=payload)
