"""AWS Lambda adapters: the same ingest and ETL cores as ``telelake serve`` and ``telelake etl``.

``handlers.ingest_handler`` takes API Gateway HTTP API and Lambda Function URL
events; ``handlers.etl_handler`` takes EventBridge schedules. The ingest path
imports nothing heavy (no pyarrow, no DuckDB), so a cold start stays short.
"""
