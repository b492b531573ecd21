"""Who comes and goes, and the chats' own events: joins, leaves, titles, pins, promotions.

These are what make counts hard in real groups: a join is both a service
message and a ``chat_member`` update per person, an admin may add two people
at once, people arrive by invite link and are welcomed by a bot, a member
may leave or be kicked, and a chat's title changes mid-week so that older
messages carry the older title. Planning fixes join and leave times up
front, so that :meth:`telelake.demo.world.Chat.pick` only picks members who
are in the chat at that moment.
"""

from __future__ import annotations

from datetime import timedelta

from telelake.demo.content import render
from telelake.demo.timeline import Timeline
from telelake.demo.world import Chat, Json, Msg, Seg, User, reply_fields

ADMIN_RIGHTS = [
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
]


class Membership(Timeline):
    """Plans membership changes and chat events; plays their slots.

    The slots are ``join``, ``welcome``, ``leave``, ``title`` and ``pin``.
    """

    def _plan_chat_events(self) -> None:
        """Joins and leaves in both chats, and one each of the rarer events."""
        rng, cast = self.rng, self.cast
        people = len(cast.humans)
        self._plan_membership(cast.main, max(1, round(people * 0.06)), max(1, round(people * 0.03)))
        self._plan_membership(cast.small, 1, 1)
        days = (self.last - self.first).days
        # The small chat gets its bot mid-week: commands before then go unanswered.
        bot_at = self._moment(self.first + timedelta(days=rng.randint(0, days)))
        cast.small.joined[cast.poll_bot.json["id"]] = bot_at
        self._add_slot(bot_at, "join", cast.small, cast.small.members[0], [cast.poll_bot], False)
        # A rename mid-week: updates must carry the title of their own moment.
        retitle = self._moment(self.first + timedelta(days=rng.randint(0, days)))
        cast.small.titles.append((retitle, "Churrasco do sábado 🍖🔥"))
        self._add_slot(retitle, "title", cast.small, "Churrasco do sábado 🍖🔥")
        self._add_slot(self._moment(self.first + timedelta(days=days // 2)), "pin", cast.main)
        # A promotion is a chat_member update with no service message.
        promoted = rng.choice(cast.anchors[1:])
        at = self._moment(self.first + timedelta(days=rng.randint(0, days)))
        update = self._member_update(
            cast.main, at, cast.anchors[0], promoted, "member", "administrator"
        )
        self._emit(at, "chat_member", payload=update)

    def _plan_membership(self, chat: Chat, joins: int, leaves: int) -> None:
        rng = self.rng
        days = (self.last - self.first).days
        movable = [m for m in chat.members if m not in self.cast.anchors and not m.json["is_bot"]]
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

    @staticmethod
    def _member_update(chat: Chat, at: int, actor: User, user: User, old: str, new: str) -> Json:
        """A ``chat_member`` payload: ``actor`` moved ``user`` from status ``old`` to ``new``."""

        def member(status: str) -> Json:
            out: Json = {"status": status, "user": user.json}
            if status == "kicked":
                out["until_date"] = 0
            if status == "administrator":
                out.update(can_be_edited=False, is_anonymous=False)
                out.update({right: right != "can_promote_members" for right in ADMIN_RIGHTS})
            return out

        return {
            "chat": chat.json_at(at),
            "from": actor.json,
            "date": at,
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }

    def _do_join(self, at: int, chat: Chat, adder: User, users: list[User], by_link: bool) -> None:
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
        if chat is self.cast.main and self.rng.random() < 0.6:
            self._add_slot(at + self.rng.randint(2, 10), "welcome", chat, msg, users[0])

    def _do_welcome(self, at: int, chat: Chat, join: Msg, user: User) -> None:
        name = user.json.get("username")
        who = (
            Seg("mention", "@" + name)
            if name
            else Seg("text_mention", user.json["first_name"], user.json)
        )
        segs = [
            Seg("plain", "Bem-vindo(a),"),
            who,
            Seg("plain", "👋 Leia as regras:"),
            Seg("url", "https://t.me/dadosecafe/3"),
        ]
        self._new(
            chat,
            at,
            {"from": self.cast.mod_bot.json},
            render(segs, "text"),
            segments=segs,
            **reply_fields(chat, join),
        )

    def _do_leave(self, at: int, chat: Chat, user: User, kicker: User | None) -> None:
        body = {"left_chat_participant": user.json, "left_chat_member": user.json}
        self._new(chat, at, {"from": (kicker or user).json}, body, service=True)
        status = "kicked" if kicker else "left"
        update = self._member_update(chat, at, kicker or user, user, "member", status)
        self._emit(at, "chat_member", payload=update)

    def _do_title(self, at: int, chat: Chat, title: str) -> None:
        self._new(chat, at, {"from": chat.members[0].json}, {"new_chat_title": title}, service=True)

    def _do_pin(self, at: int, chat: Chat) -> None:
        # The longest recent text: the kind of announcement admins pin.
        candidates = [m for m in chat.history[-80:] if not m.service and "text" in m.body]
        if candidates:
            target = max(candidates, key=lambda m: len(m.body["text"]))
            self._new(
                chat, at, {"from": self.cast.anchors[0].json}, {}, service=True, pinned=target
            )
