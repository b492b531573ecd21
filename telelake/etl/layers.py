"""The lake a build reads and writes, opened once from settings for every edge.

``telelake etl``, ``run``'s daily build, the ETL Lambda, ``import``,
``forget`` and the demo all build through :func:`telelake.etl.runner.run`
on a :class:`Layers` made here, so which stores, which zone and which
pseudonymisation a build uses is decided in one place.

The enriched layer keeps records of how it was built, under ``_telelake/``:
the time zone of its local-time columns (``lake.json``, so readers such as
the report learn it without the raw layer) and whether it holds pseudonyms
(``pseudonyms.json``). A build refuses to mix: some partitions with real ids
and others with pseudonyms (or another key) would no longer join.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import orjson

from telelake.config import Settings
from telelake.errors import ConfigError
from telelake.etl.pseudonyms import Pseudonymizer
from telelake.etl.pseudonyms import from_settings as pseudonyms_from_settings
from telelake.lake.layout import STATE_PREFIX
from telelake.lake.manifest import check_zone, ensure_zone
from telelake.lake.storage import Store, open_store
from telelake.lake.tables import TABLES

PSEUDONYMS_KEY = f"{STATE_PREFIX}/pseudonyms.json"


@dataclass(frozen=True)
class Layers:
    """Both layers of one lake, the zone of its ``context_date`` and its pseudonymisation."""

    raw: Store
    enriched: Store
    zone: ZoneInfo
    pseudonyms: Pseudonymizer | None = None

    @classmethod
    def open(cls, settings: Settings) -> Layers:
        """The lake of ``settings``; one clear line when the zone or the key is wrong."""
        pseudonyms = pseudonyms_from_settings(settings)  # no key: fail before any I/O
        raw = open_store(settings.raw_url)
        check_zone(raw, settings.timezone)
        return cls(raw, open_store(settings.enriched_url), settings.zone, pseudonyms)

    @property
    def remote(self) -> bool:
        """Whether a layer is behind a network (S3): its dates wait on requests, not CPU."""
        return any(store.url.startswith("s3://") for store in (self.raw, self.enriched))

    def prepare_enriched(self) -> None:
        """Record (or check) how the enriched layer is built, before a build writes to it."""
        check_pseudonyms(self.enriched, self.pseudonyms)
        ensure_zone(self.enriched, self.zone.key)


def check_pseudonyms(enriched: Store, pseudonyms: Pseudonymizer | None) -> None:
    """Refuse to mix real ids and pseudonyms, or two keys, in one enriched layer.

    The first build records the setting in the enriched layer; a later build
    with another one would leave some partitions with real ids (or with
    pseudonyms that no longer join). Changing it means rebuilding the layer,
    which is a pure function of the raw layer.
    """
    wanted: dict[str, object] = {"pseudonymized": pseudonyms is not None}
    if pseudonyms is not None:
        wanted["key_id"] = pseudonyms.key_id
    try:
        recorded = orjson.loads(enriched.read(PSEUDONYMS_KEY))
    except FileNotFoundError:
        has_partitions = any(enriched.list_dirs(table) for table in TABLES)
        recorded = {"pseudonymized": False} if has_partitions else None
        if recorded is None or not wanted["pseudonymized"]:
            enriched.replace(PSEUDONYMS_KEY, orjson.dumps(wanted))
            return
    except orjson.JSONDecodeError:
        raise ConfigError(f"{enriched.url}/{PSEUDONYMS_KEY} is not valid JSON") from None
    if recorded == wanted:
        return
    hint = (
        f"to change it, delete {enriched.url} and rebuild it with `telelake etl --all`"
        " (the raw layer is untouched)"
    )
    if recorded.get("pseudonymized") and not wanted["pseudonymized"]:
        raise ConfigError(
            f"the enriched layer at {enriched.url} holds pseudonyms: pass --pseudonymize "
            f"(or TELELAKE_PSEUDONYMIZE=1) with the same key; {hint}"
        )
    if not recorded.get("pseudonymized"):
        raise ConfigError(
            f"the enriched layer at {enriched.url} holds real user ids; {hint} --pseudonymize"
        )
    raise ConfigError(
        f"the enriched layer at {enriched.url} was pseudonymised with another key "
        f"(key id {recorded.get('key_id')}, yours is {wanted.get('key_id')}); {hint}"
    )
