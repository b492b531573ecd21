"""``telelake forget``: erase one person from both layers, and record that it was done.

The raw layer is the source of truth and the enriched layer a function of it,
so erasing means changing raw objects and rebuilding the dates they are in.
Which objects are deleted and which rewritten (atomically, with
:meth:`Store.replace`) is the rule in ``telelake/lake/forget.py``; a raw
object that is not JSON but holds their id or a name of theirs is deleted. Order of
work: learn the names the person goes by (one pass over the raw layer), then
per date mark it dirty, delete or rewrite its objects, and finally rebuild
every changed date with the ETL runner (with the lake's pseudonymisation) and
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date

import orjson

from telelake.etl.layers import Layers
from telelake.etl.plan import Selection
from telelake.etl.runner import EtlSummary, Progress, run
from telelake.lake.changes import mark_dirty
from telelake.lake.forget import (
    DELETE,
    Person,
    audit_key,
    audit_record,
    erase,
    needles,
)
from telelake.lake.layout import RAW_PREFIX, date_of_key
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


def _partitions(raw: Store) -> Iterator[tuple[date, list[str]]]:
    for name in raw.list_dirs(RAW_PREFIX):
        day = date_of_key(name)
        if day is not None:
            keys = [k for k in raw.list(f"{RAW_PREFIX}/{name}") if k.endswith(".json")]
            yield day, keys


def _learn(raw: Store, person: Person) -> set[str]:
    names: set[str] = set()
    needle = str(person.id).encode()
    for _, keys in _partitions(raw):
        for body in raw.read_many(keys):
            if needle in body:
                try:
                    person.learn_names(orjson.loads(body), names)
                except orjson.JSONDecodeError:
                    continue
    return names


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
    then to erase), writes only the objects that change, then rebuilds their
    dates (``progress`` is told). With ``dry_run`` nothing is written and the
    counts say what would go.
    """
    raw = layers.raw
    person = Person(user_id)
    names = _learn(raw, person)
    person = Person(user_id, frozenset(names))
    erasure = Erasure(names=len(names))
    wanted = needles(person)  # the id first, then names in their JSON spellings
    own_number = re.compile(rb"(?<![0-9])" + str(user_id).encode() + rb"(?![0-9])")
    for day, keys in _partitions(raw):
        marked = False
        for key, body in zip(keys, raw.read_many(keys), strict=True):
            if not any(n in body for n in wanted):
                continue
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError:
                # Not JSON (the ETL sets it aside): it goes if it holds their id
                # as a number of its own or one of their names.
                if not own_number.search(body) and not any(n in body for n in wanted[1:]):
                    continue
                data = None
            result = erase(data, person) if data is not None else DELETE
            if result is data:
                continue
            if not dry_run and not marked:
                # Marked first: if we stop half-way, the next `etl` rebuilds the date.
                mark_dirty(raw, day)
                marked = True
            if result is DELETE:
                erasure.deleted[day] += 1
                if not dry_run:
                    raw.delete(key)
            else:
                erasure.rewritten[day] += 1
                if not dry_run:
                    raw.replace(key, orjson.dumps(result))
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
