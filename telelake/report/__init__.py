"""Reports for people: charts and the self-contained HTML page."""
