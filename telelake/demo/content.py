"""What a simulated message carries: text with entities, photos and stickers.

Pure functions of a ``random.Random`` and the vocabulary, so the shapes of
Bot API content (entity offsets in UTF-16 code units, photo size ladders,
sticker thumbnails) are each written once and read in one place.
"""

from __future__ import annotations

import base64
import random

from telelake.demo import vocabulary as vocab
from telelake.demo.world import Chat, Json, Seg, User


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets and lengths."""
    return len(text.encode("utf-16-le")) // 2


def segments(rng: random.Random, user: User, chat: Chat) -> list[Seg]:
    """The text ``user`` writes in ``chat``: phrases in their language, maybe entities."""
    if rng.random() < 0.22:
        return [Seg("plain", rng.choice(vocab.SHORT))]
    roll = rng.random()
    count = 1 if roll < 0.55 else rng.randint(2, 3) if roll < 0.9 else rng.randint(4, 9)
    pool = vocab.LANGS[user.lang if rng.random() < 0.8 else "pt"][3]
    if count > len(pool):  # long messages borrow from the group's language
        pool = list(dict.fromkeys(pool + vocab.LANGS["pt"][3]))
    joiner = "\n" if count > 3 and rng.random() < 0.5 else " "
    segs = [Seg("plain", joiner.join(rng.sample(pool, min(count, len(pool)))))]
    if rng.random() < 0.08:
        segs.insert(0, Seg("plain", rng.choice(vocab.EMOJI)))
    if rng.random() < 0.08:
        named = [m for m in chat.members if "username" in m.json and m is not user]
        if named:
            segs.insert(0, Seg("mention", "@" + rng.choice(named).json["username"]))
    if rng.random() < 0.02:
        other = rng.choice(chat.members).json
        if "username" not in other:
            segs.insert(0, Seg("text_mention", other["first_name"], other))
    if rng.random() < 0.03:
        segs.append(Seg("bold", rng.choice(vocab.BOLD)))
    if rng.random() < 0.06:
        segs.append(Seg("url", rng.choice(vocab.URLS)))
    if rng.random() < 0.08:
        segs.append(Seg("hashtag", rng.choice(vocab.HASHTAGS)))
    if rng.random() < 0.25:
        segs.append(Seg("plain", "".join(rng.choices(vocab.EMOJI, k=rng.randint(1, 3)))))
    return segs


def render(segs: list[Seg], key: str) -> Json:
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


def file_id(rng: random.Random, prefix: str, size: int = 30) -> str:
    return prefix + base64.urlsafe_b64encode(rng.randbytes(size)).decode().rstrip("=")


def sticker(rng: random.Random, kind: tuple[str, bool, bool], emoji: str) -> Json:
    """A Bot API Sticker from set ``kind`` = (name, animated, video)."""
    set_name, animated, video = kind
    side = 512 if animated or video else rng.choice([512, 480, 360])
    thumb = {
        "file_id": file_id(rng, "AAMCAgADGQEAA"),
        "file_unique_id": file_id(rng, "AQAD", 9),
        "file_size": rng.randrange(3_000, 9_000),
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
        "file_id": file_id(rng, "CAACAgIAAxkBAAI"),
        "file_unique_id": file_id(rng, "AgAD", 9),
        "file_size": rng.randrange(12_000, 250_000),
    }


def photo(rng: random.Random) -> list[Json]:
    """A Bot API photo: the same picture at four sizes, smallest first."""
    width, height = rng.choice([(1280, 960), (960, 1280), (1280, 720), (1080, 1080)])
    sizes = []
    for side in (90, 320, 800, 1280):
        scale = min(1.0, side / max(width, height))
        w, h = round(width * scale), round(height * scale)
        sizes.append(
            {
                "file_id": file_id(rng, "AgACAgEAAxkBAAI"),
                "file_unique_id": file_id(rng, "AQAD", 9),
                "file_size": int(w * h * rng.uniform(0.08, 0.16)),
                "width": w,
                "height": h,
            }
        )
    return sizes
