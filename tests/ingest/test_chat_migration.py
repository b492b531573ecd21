"""A group upgraded to a supergroup keeps being collected under a chat filter, across restarts."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telelake.config import Settings
from telelake.errors import StorageError
from telelake.ingest.chats import CHATS_KEY
from telelake.ingest.core import Ingestor
from telelake.lake.storage import LocalStore

GROUP, SUPERGROUP, OTHER = -4001, -1004001, -4999


def message(update_id: int, chat_id: int, **extra: Any) -> bytes:
    chat_type = "supergroup" if chat_id < -1_000_000 else "group"
    body = {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "from": {"id": 7, "is_bot": False, "first_name": "Bea"},
            "chat": {"id": chat_id, "title": "Book club", "type": chat_type},
            "date": 1_764_000_000 + update_id,
            **extra,
        },
    }
    return orjson.dumps(body)


def ingestor(lake: Path, chat_ids: set[int]) -> Ingestor:
    config = Settings(lake=str(lake), chat_ids=frozenset(chat_ids))
    return Ingestor(config, LocalStore(lake / "raw"))


def stored_ids(lake: Path) -> set[int]:
    store = LocalStore(lake / "raw")
    return {orjson.loads(store.read(k))["update_id"] for k in store.list("telegram")}


@pytest.mark.parametrize(
    "announcement",
    [
        # The old group's last word: "migrated to" the supergroup.
        message(2, GROUP, migrate_to_chat_id=SUPERGROUP),
        # The supergroup's first word: "migrated from" the group.
        message(2, SUPERGROUP, migrate_from_chat_id=GROUP),
    ],
    ids=["migrate_to_chat_id", "migrate_from_chat_id"],
)
def test_the_supergroup_is_kept_and_remembered_after_a_restart(
    tmp_path: Path, announcement: bytes
) -> None:
    lake = tmp_path / "lake"
    first = ingestor(lake, {GROUP})
    assert first.accept(message(1, GROUP)).outcome == "stored"
    assert first.accept(message(10, SUPERGROUP)).outcome == "filtered"  # not known yet
    assert first.accept(announcement).outcome == "stored"
    assert first.accept(message(11, SUPERGROUP)).outcome == "stored"
    assert first.accept(message(12, OTHER)).outcome == "filtered"

    restarted = ingestor(lake, {GROUP})
    assert restarted.accept(message(13, SUPERGROUP)).outcome == "stored"
    assert restarted.accept(message(14, OTHER)).outcome == "filtered"
    assert stored_ids(lake) == {1, 2, 11, 13}
    learned = orjson.loads(LocalStore(lake / "raw").read(CHATS_KEY))
    assert learned == {"migrations": [{"from": GROUP, "to": SUPERGROUP}]}


def test_a_filter_on_the_new_id_also_keeps_the_old_group(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ing = ingestor(lake, {SUPERGROUP})
    assert ing.accept(message(1, SUPERGROUP, migrate_from_chat_id=GROUP)).outcome == "stored"
    assert ing.accept(message(2, GROUP)).outcome == "stored"


def test_migrations_of_unrelated_chats_do_not_open_the_filter(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ing = ingestor(lake, {GROUP})
    assert ing.accept(message(1, OTHER, migrate_to_chat_id=-1009999)).outcome == "filtered"
    assert ing.accept(message(2, -1009999)).outcome == "filtered"


def test_without_a_filter_nothing_is_written_to_the_state(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ing = ingestor(lake, set())
    assert ing.accept(message(1, GROUP, migrate_to_chat_id=SUPERGROUP)).outcome == "stored"
    assert not LocalStore(lake / "raw").exists(CHATS_KEY)


def test_the_migration_is_durable_before_its_update_is_acknowledged(tmp_path: Path) -> None:
    class StateUnwritable(LocalStore):
        def replace(self, key: str, data: bytes) -> None:
            raise StorageError(f"could not write {key}: read-only")

    lake = tmp_path / "lake"
    config = Settings(lake=str(lake), chat_ids=frozenset({GROUP}))
    ing = Ingestor(config, StateUnwritable(lake / "raw"))
    with pytest.raises(StorageError):
        ing.accept(message(2, GROUP, migrate_to_chat_id=SUPERGROUP))
    assert stored_ids(lake) == set()  # not acknowledged: Telegram re-delivers it


@settings(max_examples=40, deadline=None)
@given(chain=st.lists(st.integers(min_value=-(10**12), max_value=-1), min_size=2, max_size=5,
                      unique=True))  # fmt: skip
def test_a_chain_of_migrations_is_followed_from_its_first_chat(chain: list[int]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        lake = Path(scratch)
        ing = ingestor(lake, {chain[0]})
        for number, (old, new) in enumerate(itertools.pairwise(chain)):
            receipt = ing.accept(message(2 * number + 1, old, migrate_to_chat_id=new))
            assert receipt.outcome == "stored"
        assert ing.accept(message(999, chain[-1])).outcome == "stored"
        assert ingestor(lake, {chain[0]}).accept(message(1000, chain[-1])).outcome == "stored"
