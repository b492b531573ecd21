"""SQL over the enriched layer: the DuckDB engine, the Athena dialect, reports, output formats."""
