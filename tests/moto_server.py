"""A real S3-compatible server for any test folder: the moto server and a bucket in it.

Registered for the whole suite by ``pytest_plugins`` in tests/conftest.py, so
the S3 tests of tests/aws and the store contract of tests/lake share one
server per session. ``moto_endpoint`` starts moto's standalone server (S3,
SSM, Secrets Manager over real HTTP) as a child process on 127.0.0.1 the first
time a test asks for it. Tests talk to it through the same environment
variables a user sets for MinIO (``AWS_ENDPOINT_URL`` and the usual
credentials), so the code under test runs exactly as it would against
another endpoint.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of a moto server process that lives for the session."""
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    for _attempt in range(3):
        port = _free_port()
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.1)
        if process.poll() is None:
            break
    else:
        pytest.fail(f"moto server did not start:\n{log.read_text(errors='replace')}")
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def aws_environment(endpoint: str) -> dict[str, str]:
    """The variables a user would export to point telelake at an S3-compatible server."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }


_HIDDEN_AWS_VARS = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL_S3",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)


@pytest.fixture
def aws_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """This process pointed at the moto server (and away from any real account)."""
    for name in _HIDDEN_AWS_VARS:
        monkeypatch.delenv(name, raising=False)
    # No ~/.aws of the developer's may leak in.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    env = aws_environment(moto_endpoint)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def direct_client(endpoint: str) -> Any:
    """A boto3 S3 client straight to moto (never through a fault proxy), for checking."""
    import boto3  # here, so test runs without S3 tests never pay for it

    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    ).client("s3", endpoint_url=endpoint)


@pytest.fixture
def s3(moto_endpoint: str) -> Any:
    return direct_client(moto_endpoint)


@pytest.fixture
def bucket(s3: Any) -> str:
    """A fresh, empty bucket for one test."""
    name = f"telelake-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name
