"""One chat's week of messages -> its topics: groups by meaning, labelled by shared words. Pure.

The steps, all deterministic (integer vectors, a seeded generator):

1. the messages with at least ``MIN_WORDS`` distinct words (after stop
   words) get a sentence vector (embeddings.py), centred on the week's mean
   so what every message shares does not pull them together;
2. spherical k-means (k-means++ start, seeded by the chat and the week) over
   at most ``MAX_CLUSTERED`` of them, evenly spread over the week; then
   every message joins its nearest centre if it is close enough
   (``MIN_SIMILARITY``);
3. a group is a topic when it has ``MIN_TOPIC_MESSAGES`` messages from at
   least ``MIN_PEOPLE`` people, and words that label it: the most distinctive
   words of the group (share of its messages that use the word, times
   ``log(1 + week's messages / week's messages using it)``, as c-TF-IDF),
   counting only words used in the group by ``MIN_PEOPLE`` people or more.
   So a label never comes from one person's messages alone;
4. topics are numbered by size; each keeps up to three examples, the
   messages closest to its centre, from different people first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from telelake.etl.text.embeddings import SCALE, sentence_vectors, unit

MIN_WORDS = 2
MIN_MESSAGES = 10  # fewer candidates in a chat's week: no topics
MAX_CLUSTERED = 1500
MAX_TOPICS = 10
MIN_SIMILARITY = 0.3
MIN_TOPIC_MESSAGES = 4
MIN_PEOPLE = 2
LABEL_WORDS = 3
TERMS_KEPT = 5
EXAMPLES = 3
ITERATIONS = 20


@dataclass(frozen=True)
class Message:
    """A message of the week as the topics see it: who, and its distinct words."""

    message_id: int
    user_id: int | None
    words: tuple[str, ...]


@dataclass(frozen=True)
class Member:
    message_id: int
    user_id: int | None
    similarity: float
    example_rank: int | None


@dataclass(frozen=True)
class Topic:
    number: int
    label: str
    terms: tuple[str, ...]
    people: int
    members: tuple[Member, ...]


def _seed(chat_id: int, week_ordinal: int) -> int:
    return (chat_id * 1_000_003 + week_ordinal) % (2**63)


def _kmeans(points: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Centres (integer unit vectors) of ``k`` spherical k-means groups of ``points``."""
    rng = np.random.default_rng(seed)
    full = SCALE * SCALE
    centres = [points[int(rng.integers(len(points)))]]
    for _ in range(1, k):
        similarity = (points @ np.stack(centres).T).max(axis=1)
        distance = np.maximum(full - similarity, 0).astype(np.float64)
        weights = distance * distance
        total = weights.sum()
        if total <= 0:
            break
        centres.append(points[int(rng.choice(len(points), p=weights / total))])
    centre = np.stack(centres)
    assigned = np.full(len(points), -1)
    for _ in range(ITERATIONS):
        nearest = (points @ centre.T).argmax(axis=1)
        if np.array_equal(nearest, assigned):
            break
        assigned = nearest
        sums = np.zeros_like(centre)
        np.add.at(sums, nearest, points)
        moved = unit(sums)
        empty = ~sums.any(axis=1)
        moved[empty] = centre[empty]
        centre = moved
    return centre


def _label(
    members: list[int], messages: list[Message], week_df: dict[str, int], total: int
) -> tuple[str, ...]:
    """The group's most distinctive words that at least ``MIN_PEOPLE`` people used in it."""
    uses: dict[str, int] = {}
    people: dict[str, set[int]] = {}
    for index in members:
        message = messages[index]
        for word in message.words:
            uses[word] = uses.get(word, 0) + 1
            if message.user_id is not None:
                people.setdefault(word, set()).add(message.user_id)
    size = len(members)
    scored = [
        (-(count / size) * math.log(1 + total / week_df[word]), word)
        for word, count in uses.items()
        if count >= 2 and len(people.get(word, ())) >= MIN_PEOPLE
    ]
    scored.sort()
    return tuple(word for _, word in scored[:TERMS_KEPT])


def _examples(members: list[tuple[int, float, int | None]]) -> dict[int, int]:
    """message_id -> example rank: closest first, one per person before any second."""
    ordered = sorted(members, key=lambda m: (-m[1], m[0]))
    chosen: list[int] = []
    seen: set[int | None] = set()
    for message_id, _, user_id in ordered:
        if len(chosen) == EXAMPLES:
            break
        if user_id not in seen:
            chosen.append(message_id)
            seen.add(user_id)
    for message_id, _, _ in ordered:
        if len(chosen) == EXAMPLES:
            break
        if message_id not in chosen:
            chosen.append(message_id)
    return {message_id: rank for rank, message_id in enumerate(chosen, start=1)}


def week_topics(chat_id: int, week_ordinal: int, messages: list[Message]) -> list[Topic]:
    """The topics of one chat's week (``messages`` in a stable order: by message id)."""
    candidates = [m for m in messages if len(m.words) >= MIN_WORDS]
    if len(candidates) < MIN_MESSAGES:
        return []
    vectors = sentence_vectors(m.words for m in candidates)
    keep = np.flatnonzero(vectors.any(axis=1))
    kept = set(keep.tolist())
    candidates = [m for i, m in enumerate(candidates) if i in kept]
    vectors = vectors[keep]
    if len(candidates) < MIN_MESSAGES:
        return []
    # Centred on the week's mean, exactly: n·v − Σv, then made unit again.
    points = unit(vectors * len(vectors) - vectors.sum(axis=0))
    step = -(-len(points) // MAX_CLUSTERED)
    sample = points[::step]
    k = max(2, min(MAX_TOPICS, round(math.sqrt(len(sample) / 8))))
    centres = _kmeans(sample, k, _seed(chat_id, week_ordinal))
    similarity = points @ centres.T
    nearest = similarity.argmax(axis=1)
    best = similarity[np.arange(len(points)), nearest]
    threshold = MIN_SIMILARITY * SCALE * SCALE
    week_df: dict[str, int] = {}
    for message in candidates:
        for word in message.words:
            week_df[word] = week_df.get(word, 0) + 1
    found: list[tuple[int, str, tuple[str, ...], int, list[tuple[int, float, int | None]]]] = []
    for group in range(len(centres)):
        members = [i for i in np.flatnonzero(nearest == group).tolist() if best[i] >= threshold]
        people = {candidates[i].user_id for i in members} - {None}
        if len(members) < MIN_TOPIC_MESSAGES or len(people) < MIN_PEOPLE:
            continue
        terms = _label(members, candidates, week_df, len(candidates))
        if not terms:
            continue
        scored = [
            (candidates[i].message_id, round(int(best[i]) / (SCALE * SCALE), 4),
             candidates[i].user_id)
            for i in members
        ]  # fmt: skip
        label = " · ".join(terms[:LABEL_WORDS])
        found.append((-len(members), label, terms, len(people), scored))
    found.sort(key=lambda t: (t[0], t[1]))
    topics = []
    for number, (_, label, terms, count, scored) in enumerate(found, start=1):
        ranks = _examples(scored)
        members_out = tuple(
            Member(message_id, user_id, similarity, ranks.get(message_id))
            for message_id, similarity, user_id in sorted(scored)
        )
        topics.append(Topic(number, label, terms, count, members_out))
    return topics
