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
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from telelake.etl.chunked import Chunk, Part, build_part
from telelake.etl.layers import Layers
from telelake.etl.partition import PartitionResult, build_partition
from telelake.etl.plan import CHANGED, Selection, plan
from telelake.etl.text.weeks import Weeks, build_pending
from telelake.etl.workers import WorkerPool
from telelake.lake.compaction import compact_lake, note_built
from telelake.lake.tables import MESSAGES, TOPICS

# Below this many dates a run stays in one process: starting a worker
# (importing pyarrow) costs about as much as building a day of a busy group.
PARALLEL_MIN_DATES = 4
# With a time budget, no date is started with less than this left, nor with
# less than twice the slowest date so far: a build cut off mid-way is wasted.
TIME_RESERVE_SECONDS = 30.0
# On S3 a date spends most of its time waiting on requests (listings, the
# segment's GET, one PUT per table, markers), so one process (a Lambda) keeps
# this many dates in flight in threads. Memory grows with it: four busy dates.
REMOTE_DATES_IN_FLIGHT = 4


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
    compacted: int = 0  # closed raw days packed into segments (with ``compact_after``)
    # Weekly topics the run built (etl/text/weeks.py): each week's Monday -> its rows.
    weeks: dict[date, int] = field(default_factory=dict)

    def total(self, table: str) -> int:
        if table == TOPICS:
            return sum(self.weeks.values())
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
            line = "ETL: no partition changed or outdated since its last build"
            if self.compacted:
                line += f"; compacted {self.compacted} closed raw day(s)"
            return line
        days = [p.day for p in self.partitions]
        line = f"ETL built {len(days)} partition(s)"
        if days:
            line += f" ({days[0].isoformat()} .. {days[-1].isoformat()})"
        line += f": {self.total(MESSAGES)} message rows"
        if self.left:
            line += f"; {len(self.left)} date(s) left for the next run"
        if self.compacted:
            line += f"; compacted {self.compacted} closed raw day(s)"
        return line


def run(
    layers: Layers,
    selection: Selection = CHANGED,
    *,
    stop: Callable[[], bool] | None = None,
    time_left: Callable[[], float] | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    compact_after: int | None = None,
) -> EtlSummary:
    """Build the dates ``selection`` names, oldest first; each build is atomic.

    ``stop`` (checked before each date starts) ends the run early;
    ``time_left`` (seconds) keeps a date from starting when too little is
    left to finish it. Dates not started stay changed, so the next run builds
    them; :attr:`EtlSummary.left` lists them. ``workers`` caps the processes
    (default: one per core). With ``compact_after`` (days), the closed days
    that need it are then compacted (lake/compaction.py), within the same
    stop condition and time budget.
    """
    days = plan(layers.raw, layers.enriched, selection)
    if progress is not None:
        progress.planned(days)
    summary = EtlSummary()
    may_start = _starter(summary, stop, time_left)
    if days:
        layers.prepare_enriched()
        weeks = Weeks(days)
        for result in _built(layers, days, workers, may_start):
            summary.partitions.append(result)
            summary.weeks.update(weeks.built(layers.enriched, result.day, may_start))
            if result.raw_objects:
                # The build cleared the date's change marker: leave the compaction its own.
                note_built(layers.raw, result.day)
            if progress is not None:
                progress.built(result)
        summary.partitions.sort(key=lambda p: p.day)
        built = {p.day for p in summary.partitions}
        summary.left = [day for day in days if day not in built]
    # The weeks still marked: a week whose planned dates were not all built, or
    # whose dates an earlier, stopped run built (etl/text/weeks.py).
    summary.weeks.update(build_pending(layers.enriched, may_start))
    if compact_after is not None:
        compaction = compact_lake(layers.raw, layers.zone, compact_after, may_start=may_start)
        summary.compacted = compaction.compacted
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
    run of a few dates builds them one by one, each big one on every core.
    This process builds too (it has everything imported already), taking dates
    (or chunks) from the same list as the workers while they start (see ``WorkerPool``).
    """
    cores = workers or os.cpu_count() or 1
    count = min(cores, len(days))
    if cores < 2 and layers.remote and len(days) > 1:
        yield from _in_threads(layers, days, may_start)
        return
    if cores < 2:
        for day in days:
            if not may_start():
                return
            yield build_partition(layers, day)
        return
    if len(days) < PARALLEL_MIN_DATES:
        # A daily run: each date is built here, a big one cut into chunks that
        # helpers parse beside this process (etl/chunked.py). They start while
        # this process lists and reads, and are stopped unused if no date is big.
        helpers: WorkerPool[Chunk, Part]
        with WorkerPool(build_part, (layers.raw,), [], cores - 1, more=True) as helpers:
            for day in days:
                if not may_start():
                    return
                yield build_partition(layers, day, helpers)
        return
    with WorkerPool(build_partition, (layers,), days, count - 1, may_start) as pool:
        while (mine := pool.take()) is not None:
            yield build_partition(layers, mine)
            yield from pool.finished(block=False)
        pool.no_more_starts()
        yield from pool.finished(block=True)


def _in_threads(
    layers: Layers, days: list[date], may_start: Callable[[], bool]
) -> Iterator[PartitionResult]:
    """Build ``days`` a few at a time in threads, oldest first, yielding as each finishes.

    Each date is still built whole and atomically; only the waits on the
    network overlap. A date is started only while ``may_start`` allows; a
    failure is raised once the dates already in flight have finished.
    """
    queued = iter(days)
    starting = True
    running: set[Future[PartitionResult]] = set()
    with ThreadPoolExecutor(REMOTE_DATES_IN_FLIGHT, thread_name_prefix="etl-date") as pool:
        while True:
            while starting and len(running) < REMOTE_DATES_IN_FLIGHT:
                day = next(queued, None)
                if day is None or not may_start():
                    starting = False
                    break
                running.add(pool.submit(build_partition, layers, day))
            if not running:
                return
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                yield future.result()
