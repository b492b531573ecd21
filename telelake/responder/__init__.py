"""The bot answering in chats: commands, digests, alerts and ``/forgetme`` (off by default).

Beside ingest, never in its way (DESIGN §3.10): ingest stores and
acknowledges every update first, then hands the few that may need an answer
(commands, joins) to the responder's own queue; the responder reads the lake
(the enriched layer, and the raw layer for dates not built yet), answers
within Telegram's limits and keeps its small state under ``_telelake/responder/``
of the raw layer.

Modules: ``triggers`` (which updates matter; light, imported by ingest),
``menu`` (the command menu), ``limits`` (Telegram's rate limits),
``records`` (per-chat settings and state), ``live`` and ``stats`` (numbers
over the lake), ``texts`` and ``charts`` (what is posted), ``outbox``
(sending), ``core`` (deciding what to answer), ``erasure`` (``/forgetme``),
``worker`` (the thread of ``telelake run``). This package file imports
nothing, so ingest can import ``triggers`` without pyarrow or DuckDB.
"""
