"""Changed-partition markers (DESIGN §3.6): mark, list, clear, on a real folder."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telelake.lake.changes import dirty_dates, finish_build, mark_dirty, start_build
from telelake.lake.storage import LocalStore
from telelake.lake.versions import built_dates, contract_id


def beside(store: LocalStore) -> LocalStore:
    """An enriched layer next to the raw one (outside it), for the build records."""
    return LocalStore(f"{store.url}-enriched")


def clear_dirty(store: LocalStore, day: date) -> None:
    """What a build that finishes does to the markers of its date."""
    start_build(store, day)
    finish_build(store, day, enriched=beside(store))


def test_mark_list_clear(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    assert dirty_dates(store) == []
    for day in (date(2024, 6, 15), date(2023, 12, 31), date(2024, 2, 29), date(2024, 6, 15)):
        mark_dirty(store, day)
    assert dirty_dates(store) == [date(2023, 12, 31), date(2024, 2, 29), date(2024, 6, 15)]

    clear_dirty(store, date(2024, 2, 29))
    assert dirty_dates(store) == [date(2023, 12, 31), date(2024, 6, 15)]
    clear_dirty(store, date(2000, 1, 1))  # never marked: no error
    clear_dirty(store, date(2024, 2, 29))  # already cleared: no error
    assert dirty_dates(store) == [date(2023, 12, 31), date(2024, 6, 15)]


def test_marked_again_after_a_clear(tmp_path: Path) -> None:
    # The ETL clears before it lists; an update that lands afterwards re-marks the date.
    store = LocalStore(tmp_path)
    mark_dirty(store, date(2024, 1, 1))
    clear_dirty(store, date(2024, 1, 1))
    assert dirty_dates(store) == []
    mark_dirty(store, date(2024, 1, 1))
    assert dirty_dates(store) == [date(2024, 1, 1)]


def test_markers_are_not_update_objects_and_survive_a_new_store(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.create("telegram/context_date=2024-01-01/1.json", b"{}")
    mark_dirty(store, date(2024, 1, 1))
    assert store.list("telegram") == ["telegram/context_date=2024-01-01/1.json"]
    assert dirty_dates(LocalStore(tmp_path)) == [date(2024, 1, 1)]


def test_a_build_that_dies_before_finishing_leaves_its_date_changed(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    mark_dirty(store, date(2024, 1, 1))
    start_build(store, date(2024, 1, 1))  # ... and the process is killed here
    assert dirty_dates(LocalStore(tmp_path)) == [date(2024, 1, 1)]
    mark_dirty(store, date(2024, 1, 1))  # an update arriving meanwhile: still one date
    start_build(store, date(2024, 1, 1))
    finish_build(store, date(2024, 1, 1), enriched=beside(store))
    assert dirty_dates(store) == []


def test_only_a_finished_build_is_recorded_as_built(tmp_path: Path) -> None:
    raw, enriched = LocalStore(tmp_path / "raw"), LocalStore(tmp_path / "enriched")
    day = date(2024, 1, 1)
    mark_dirty(raw, day)
    start_build(raw, day)  # ... and the process is killed here
    assert built_dates(enriched) == set()
    start_build(raw, day)
    finish_build(raw, day, enriched=enriched)
    assert built_dates(enriched) == {day}
    assert enriched.list("_telelake/built") == [
        f"_telelake/built/context_date=2024-01-01/{contract_id()}.json"
    ]


def test_clearing_everything_leaves_no_marker_folders(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    mark_dirty(store, date(2024, 1, 1))
    clear_dirty(store, date(2024, 1, 1))
    assert list(tmp_path.iterdir()) == []


def test_unrelated_files_under_the_marker_folder_are_ignored(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    mark_dirty(store, date(2024, 1, 1))
    marker_dir = next(tmp_path.iterdir())
    (marker_dir / "dirty" / "README").write_text("not a marker")
    (marker_dir / "dirty" / ".tmp-123").write_text("")
    assert dirty_dates(store) == [date(2024, 1, 1)]


operations = st.lists(
    st.tuples(st.booleans(), st.dates(min_value=date(2020, 1, 1), max_value=date(2020, 1, 10))),
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=operations)
def test_matches_a_set_model(
    tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[bool, date]]
) -> None:
    store = LocalStore(tmp_path_factory.mktemp("dirty"))
    model: set[date] = set()
    for mark, day in ops:
        if mark:
            mark_dirty(store, day)
            model.add(day)
        else:
            clear_dirty(store, day)
            model.discard(day)
        assert dirty_dates(store) == sorted(model)
