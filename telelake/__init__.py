"""telelake: Telegram groups into a small data lake you can query with SQL.

The package is layered; imports point down only:
``cli``/``demo`` (adapters) -> ``ingest``/``etl``/``analytics``/``report`` (stages)
-> ``lake``/``telegram`` -> ``errors``/``config``/``redaction``.
"""

__version__ = "0.1.0"
