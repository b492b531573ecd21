"""How telelake talks to S3: the boto3 client, pyarrow's S3 filesystem, S3's error answers.

:mod:`telelake.lake.s3` keeps the Store contract on S3; this module holds
what it is built with, so the contract stays readable on its own: a boto3
client set up with the standard credential chain, retries and endpoint; the
same account as a pyarrow filesystem (for readers that scan Parquet); and
the few questions asked of a failed request (its code, a one-line reason).
boto3 and pyarrow are imported inside the functions, so importing this module
loads neither (the ingest Lambda stays small).
"""

from __future__ import annotations

import logging
import os
from typing import Any
from urllib.parse import urlsplit

# Enough to hide per-request latency of small objects; botocore's pool gets
# the same size so no thread waits for a connection.
READ_CONCURRENCY = 32
# botocore's own retries (first try included), with its exponential backoff.
MAX_ATTEMPTS = 5


def _endpoint_configured() -> bool:
    return bool(os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"))


def make_client(timeout: float = 10.0, max_attempts: int = MAX_ATTEMPTS) -> Any:
    """An S3 client with the standard credential chain and endpoint settings.

    ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3`` are read by botocore itself;
    with one set (MinIO, a test server) addressing is path-style, since a
    private endpoint rarely resolves ``bucket.host`` names.
    """
    import boto3
    from botocore.config import Config

    # botocore says at INFO where it found credentials and endpoint, per client: noise
    # in a CLI's output. Left alone when the user configured the logger.
    for name in ("botocore.credentials", "botocore.configprovider"):
        quiet = logging.getLogger(name)
        if quiet.level == logging.NOTSET:
            quiet.setLevel(logging.WARNING)
    config = Config(
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        connect_timeout=timeout,
        read_timeout=timeout,
        max_pool_connections=READ_CONCURRENCY,
        s3={"addressing_style": "path"} if _endpoint_configured() else None,
    )
    return boto3.session.Session().client("s3", config=config)


def arrow_filesystem() -> Any:
    """pyarrow's S3 file system set up from the AWS settings boto3 resolves.

    boto3 resolves the credential chain (profiles, SSO, roles, environment)
    and region; pyarrow gets them explicitly, so both read the same account,
    and it never probes the EC2 metadata service for a region.
    """
    import boto3
    from pyarrow import fs

    session = boto3.session.Session()
    credentials = session.get_credentials()
    frozen = credentials.get_frozen_credentials() if credentials is not None else None
    options: dict[str, Any] = {"region": session.region_name or "us-east-1"}
    if frozen is not None:
        options.update(
            access_key=frozen.access_key,
            secret_key=frozen.secret_key,
            session_token=frozen.token,
        )
    else:
        options["anonymous"] = True
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        parts = urlsplit(endpoint)
        options.update(scheme=parts.scheme or "https", endpoint_override=parts.netloc + parts.path)
    return fs.S3FileSystem(**options)


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code or str(status or "")


def codes(exc: BaseException) -> set[str]:
    response = getattr(exc, "response", None) or {}
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return {error_code(exc), str(status)}


def reason(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if response:
        error = response.get("Error", {})
        code = error.get("Code") or response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = error.get("Message") or ""
        return f"{code} {message}".strip()
    return f"{type(exc).__name__}: {exc}"
