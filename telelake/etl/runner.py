"""The one ETL driver: which dates, on how many cores, until when, told to whom.

Every edge that builds (``telelake etl``, ``run``'s daily build, the ETL
Lambda, ``import``, ``forget``, the demo) ends in one call to :func:`run`;
each passes only what is its own: which dates (a :class:`Selection`), a stop
condition (``run`` stops on SIGTERM), a time budget (a Lambda invocation
has one), a progress display (the CLI's bar). Each date is built whole and
atomically by one process (:mod:`telelake.etl.partition`), so stopping
between dates leaves every date either built or still marked as changed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from telelake.etl.layers import Layers
from telelake.etl.partition import PartitionResult, build_partition
from telelake.etl.plan import CHANGED, Selection, plan
from telelake.etl.workers import WorkerPool
from telelake.lake.tables import MESSAGES

# Below this many dates a run stays in one process: starting a worker
# (importing pyarrow) costs about as much as building a day of a busy group.
PARALLEL_MIN_DATES = 4
# With a time budget, no date is started with less than this left, nor with
# less than twice the slowest date so far: a build cut off mid-way is wasted.
TIME_RESERVE_SECONDS = 30.0


class Progress(Protocol):
    """What a display is told while a run builds."""

    def planned(self, days: Sequence[date]) -> None:
        """The dates this run will try to build, oldest first (called once, first)."""
        ...

    def built(self, result: PartitionResult) -> None:
        """One date is built (dates finish in any order when several cores build)."""
        ...


@dataclass
class EtlSummary:
    """What a run built, and which planned dates it left for the next run."""

    partitions: list[PartitionResult] = field(default_factory=list)
    left: list[date] = field(default_factory=list)

    def total(self, table: str) -> int:
        return sum(p.rows.get(table, 0) for p in self.partitions)

    @property
    def raw_objects(self) -> int:
        return sum(p.raw_objects for p in self.partitions)

    @property
    def rejected(self) -> int:
        return sum(p.rejected for p in self.partitions)

    @property
    def duplicates(self) -> int:
        return sum(p.duplicates for p in self.partitions)

    def describe(self) -> str:
        """One log line: what was built, and what is left."""
        if not self.partitions and not self.left:
            return "ETL: no partition changed since its last build"
        days = [p.day for p in self.partitions]
        line = f"ETL built {len(days)} partition(s)"
        if days:
            line += f" ({days[0].isoformat()} .. {days[-1].isoformat()})"
        line += f": {self.total(MESSAGES)} message rows"
        if self.left:
            line += f"; {len(self.left)} date(s) left for the next run"
        return line


def run(
    layers: Layers,
    selection: Selection = CHANGED,
    *,
    stop: Callable[[], bool] | None = None,
    time_left: Callable[[], float] | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> EtlSummary:
    """Build the dates ``selection`` names, oldest first; each build is atomic.

    ``stop`` (checked before each date starts) ends the run early;
    ``time_left`` (seconds) keeps a date from starting when too little is
    left to finish it. Dates not started stay changed, so the next run builds
    them; :attr:`EtlSummary.left` lists them. ``workers`` caps the processes
    (default: one per core).
    """
    days = plan(layers.raw, layers.enriched, selection)
    if progress is not None:
        progress.planned(days)
    summary = EtlSummary()
    if not days:
        return summary
    layers.prepare_enriched()
    may_start = _starter(summary, stop, time_left)
    for result in _built(layers, days, workers, may_start):
        summary.partitions.append(result)
        if progress is not None:
            progress.built(result)
    summary.partitions.sort(key=lambda p: p.day)
    built = {p.day for p in summary.partitions}
    summary.left = [day for day in days if day not in built]
    return summary


def _starter(
    summary: EtlSummary, stop: Callable[[], bool] | None, time_left: Callable[[], float] | None
) -> Callable[[], bool]:
    """Whether another date may start now, given the stop condition and the time budget."""

    def may_start() -> bool:
        if stop is not None and stop():
            return False
        if time_left is None:
            return True
        slowest = max((p.seconds for p in summary.partitions), default=0.0)
        return time_left() >= max(TIME_RESERVE_SECONDS, 2 * slowest)

    return may_start


def _built(
    layers: Layers, days: list[date], workers: int | None, may_start: Callable[[], bool]
) -> Iterator[PartitionResult]:
    """Results of building ``days``, in the order they finish.

    Building is CPU-bound Python (JSON parsing, row building), so a run of
    many dates spreads them over processes, one per core by default; a daily
    run of one or two dates stays in this process and pays no start-up.
    This process builds too (it has everything imported already), taking dates
    from the same list as the workers while they start (see ``WorkerPool``).
    """
    count = min(workers or os.cpu_count() or 1, len(days))
    if count < 2 or len(days) < PARALLEL_MIN_DATES:
        for day in days:
            if not may_start():
                return
            yield build_partition(layers, day)
        return
    with WorkerPool(build_partition, (layers,), days, count - 1, may_start) as pool:
        while (mine := pool.take()) is not None:
            yield build_partition(layers, mine)
            yield from pool.finished(block=False)
        pool.no_more_starts()
        yield from pool.finished(block=True)
