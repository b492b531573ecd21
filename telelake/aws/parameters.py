"""Secrets for the Lambdas, read from SSM Parameter Store or Secrets Manager at cold start.

The template never holds a secret: it passes the *name* of a SecureString
parameter (``TELELAKE_WEBHOOK_SECRET_PARAM=/telelake/webhook-secret``) or the
ARN of a Secrets Manager secret, and the function reads the value once per
container. The values then reach :func:`telelake.config.load_settings` as the
ordinary environment variables, so they are registered for redaction like
any other secret.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from telelake.errors import ConfigError

# environment variable holding the value -> variable holding where to read it
PARAMETER_VARS: dict[str, str] = {
    "TELELAKE_WEBHOOK_SECRET": "TELELAKE_WEBHOOK_SECRET_PARAM",
    "TELEGRAM_BOT_TOKEN": "TELEGRAM_BOT_TOKEN_PARAM",
}
_SECRETS_MANAGER = "arn:aws:secretsmanager:"


def _client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "total_max_attempts": 5}, connect_timeout=5)
    return boto3.session.Session().client(service, config=config)


def resolve(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of ``environ`` with each ``*_PARAM`` resolved into its value variable.

    A value variable already set wins (local runs, tests). All SSM names are
    read in one ``GetParameters`` call, decrypted.
    """
    env = dict(os.environ if environ is None else environ)
    wanted = {
        var: env[param]
        for var, param in PARAMETER_VARS.items()
        if env.get(param) and not env.get(var)
    }
    if not wanted:
        return env
    ssm_names = sorted({name for name in wanted.values() if not name.startswith(_SECRETS_MANAGER)})
    values: dict[str, str] = {}
    if ssm_names:
        values.update(_ssm_values(ssm_names))
    for name in wanted.values():
        if name.startswith(_SECRETS_MANAGER):
            values[name] = _secrets_manager_value(name)
    for var, name in wanted.items():
        env[var] = values[name]
    return env


def _ssm_values(names: list[str]) -> dict[str, str]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = _client("ssm").get_parameters(Names=names, WithDecryption=True)
    except (BotoCoreError, ClientError) as exc:
        raise ConfigError(f"cannot read SSM parameters {', '.join(names)}: {exc}") from exc
    missing = answer.get("InvalidParameters") or []
    if missing:
        raise ConfigError(
            f"SSM parameter(s) {', '.join(missing)} do not exist: create them with "
            "aws ssm put-parameter --type SecureString"
        )
    return {str(p["Name"]): str(p["Value"]) for p in answer.get("Parameters", [])}


def _secrets_manager_value(arn: str) -> str:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = _client("secretsmanager").get_secret_value(SecretId=arn)
    except (BotoCoreError, ClientError) as exc:
        raise ConfigError(f"cannot read secret {arn}: {exc}") from exc
    value = answer.get("SecretString")
    if not isinstance(value, str):
        raise ConfigError(f"secret {arn} holds no string")
    return value
