"""The ingest Lambda's cold start: importing its handler loads no pyarrow and no DuckDB."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("pyarrow", "duckdb", "sqlglot", "pandas", "numpy")

PROBE = """
import json, sys, time
started = time.perf_counter()
from telelake.aws.handlers import ingest_handler
handler_s = time.perf_counter() - started
import telelake.lake.s3
from telelake.lake.s3client import make_client
make_client()  # what the first request adds: boto3 and a client
total_s = time.perf_counter() - started
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[1:]))
print(json.dumps({"heavy": heavy, "handler_s": handler_s, "total_s": total_s}))
"""


def test_ingest_handler_import_loads_nothing_heavy() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *HEAVY],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"},
    )
    report = json.loads(result.stdout)
    assert report["heavy"] == [], f"the ingest path imports {report['heavy']}"
    # Not a timing assert (shared machine): the figure is printed for the README.
    handler_s, total_s = report["handler_s"], report["total_s"]
    print(f"cold import: handler {handler_s:.3f} s, with boto3 and a client {total_s:.3f} s")


def test_the_etl_handler_does_load_pyarrow_when_called() -> None:
    """The check above can fail: the ETL side of the same module does import pyarrow."""
    probe = (
        "import sys\nfrom telelake.aws import handlers\nimport telelake.etl.runner\n"
        "print('pyarrow' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "True"
