"""``telelake forget``: erase one person from both layers, and record that it was done.

The raw layer is the source of truth and the enriched layer a function of it,
so erasing means changing raw updates and rebuilding the dates they are in.
Which updates are deleted and which rewritten (atomically, with
:meth:`Store.replace`) is the rule in ``telelake/lake/forget.py``; a raw
object that is not JSON but holds their id or a name of theirs is deleted.
Updates packed into a segment (``telelake compact``) are erased by writing
the day's segment again without them, verified, before the old one goes
(``lake/compaction.replace_segments``). Order of work: learn the names the
person goes by (one pass over the raw layer), then per date mark it dirty,
delete or rewrite its objects and segments, and finally rebuild every
changed date with the ETL runner (with the lake's pseudonymisation) and
write the audit record. A run stopped half-way leaves the changed dates
marked, so the next ``telelake etl`` finishes the rebuild; running ``forget``
again finishes the raw part. Only the :class:`Store` protocol is used, so this
works on S3 as on a folder.

Limits: Telegram re-delivers an update for up to 24 hours, so one of theirs
still in flight may arrive after the erasure (run it again then); copies
outside the lake (backups, query results, export files) are not reached,
though ``telelake import`` skips and scrubs people erased before.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import orjson

from telelake.etl.layers import Layers
from telelake.etl.plan import Selection
from telelake.etl.runner import EtlSummary, Progress, run
from telelake.lake.changes import mark_dirty
from telelake.lake.compaction import replace_segments
from telelake.lake.forget import (
    DELETE,
    Delete,
    Person,
    audit_key,
    audit_record,
    erase,
    needles,
)
from telelake.lake.layout import RAW_PREFIX, date_of_key
from telelake.lake.segments import read_day, read_partition
from telelake.lake.storage import Store


@dataclass
class Erasure:
    """What one ``forget`` did (counts only, never content)."""

    deleted: Counter[date] = field(default_factory=Counter)
    rewritten: Counter[date] = field(default_factory=Counter)
    names: int = 0
    rebuilt: EtlSummary | None = None
    audit_key: str | None = None

    @property
    def dates(self) -> list[date]:
        return sorted(set(self.deleted) | set(self.rewritten))


def _dates(raw: Store) -> list[date]:
    days = {date_of_key(name) for name in raw.list_dirs(RAW_PREFIX)}
    return sorted(day for day in days if day is not None)


def _learn(raw: Store, person: Person) -> set[str]:
    names: set[str] = set()
    needle = str(person.id).encode()
    for day in _dates(raw):
        for _, body in read_partition(raw, day):
            if needle in body:
                try:
                    person.learn_names(orjson.loads(body), names)
                except orjson.JSONDecodeError:
                    continue
    return names


class _Rule:
    """The erasure rule over stored bytes: what becomes of one raw update."""

    def __init__(self, person: Person) -> None:
        self.person = person
        self.wanted = needles(person)  # the id first, then names in their JSON spellings
        self.own_number = re.compile(rb"(?<![0-9])" + str(person.id).encode() + rb"(?![0-9])")

    def __call__(self, body: bytes) -> Delete | bytes | None:
        """``DELETE``, the rewritten bytes, or ``None`` when the update stays as it is."""
        if not any(n in body for n in self.wanted):
            return None
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            # Not JSON (the ETL sets it aside): it goes if it holds their id
            # as a number of its own or one of their names.
            if not self.own_number.search(body) and not any(n in body for n in self.wanted[1:]):
                return None
            return DELETE
        result = erase(data, self.person)
        if result is data:
            return None
        return DELETE if result is DELETE else orjson.dumps(result)


def forget_user(
    layers: Layers,
    user_id: int,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.time,
) -> Erasure:
    """Erase ``user_id`` from both layers (the rule: ``telelake/lake/forget.py``).

    Reads the raw layer twice (first to learn the names the person goes by,
    then to erase), writes only the objects and segments that change, then
    rebuilds their dates (``progress`` is told). With ``dry_run`` nothing is
    written and the counts say what would go.
    """
    raw = layers.raw
    person = Person(user_id)
    names = _learn(raw, person)
    rule = _Rule(Person(user_id, frozenset(names)))
    erasure = Erasure(names=len(names))
    for day in _dates(raw):
        _erase_day(raw, day, rule, erasure, dry_run)
    if dry_run or not erasure.dates:
        return erasure
    erasure.rebuilt = run(layers, Selection(dates=tuple(erasure.dates)), progress=progress)
    now = clock()
    key = audit_key(now)
    pseudonymized = layers.pseudonyms is not None
    record = audit_record(user_id, erasure.deleted, erasure.rewritten, pseudonymized, now)
    raw.create(key, record)
    erasure.audit_key = key
    return erasure


def _erase_day(raw: Store, day: date, rule: _Rule, erasure: Erasure, dry_run: bool) -> None:
    """Apply ``rule`` to every update of ``day``: objects are deleted or replaced one by
    one, segments holding the person are replaced by one segment without them.

    An update held both as an object and in a segment (a compaction that did
    not finish) is counted once and erased in both forms.
    """
    part = read_day(raw, day)
    merged, renamed = part.merged()
    verdicts: dict[str, Delete | bytes] = {}
    for key, body in merged:
        verdict = rule(body)
        if verdict is None:
            continue
        verdicts[key] = verdict
        if verdict is DELETE:
            erasure.deleted[day] += 1
        else:
            erasure.rewritten[day] += 1
    if dry_run or not verdicts:
        return
    # Marked first: if we stop half-way, the next `etl` rebuilds the date.
    mark_dirty(raw, day)
    for key, _ in part.objects:
        verdict = verdicts.get(renamed.get((key, 0), key))
        if isinstance(verdict, bytes):
            raw.replace(key, verdict)
        elif verdict is not None:
            raw.delete(key)
    in_segments = {
        renamed.get((segment, index), key)
        for segment, lines in part.segments.items()
        for index, (key, _) in enumerate(lines)
    }
    if in_segments & verdicts.keys():
        kept: list[tuple[str, bytes]] = []
        for key, body in merged:
            if key in in_segments:
                verdict = verdicts.get(key, body)
                if isinstance(verdict, bytes):
                    kept.append((key, verdict))
        replace_segments(raw, day, list(part.segments), kept)
