"""Ingest: one core that verifies, filters and durably stores updates, and its adapters.

The webhook app, the poller and the Lambda handler all call :class:`Ingestor`,
so every entry point has the same acknowledgement rule (DESIGN §3.1–3.4).
"""
