"""template.yaml: valid for CloudFormation (cfn-lint), and in step with the code it deploys.

Every handler it names imports; every Glue table has exactly the columns the
ETL writes (telelake.analytics.ddl, the same source as `telelake athena-ddl`);
the named queries are the built-in reports verbatim; no secret is in it;
the images pin the versions pyproject.toml pins.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

from telelake.analytics.ddl import DEFAULT_SINCE, RANGE_END, table_columns
from telelake.analytics.reports import REPORTS
from telelake.lake import tables as contract

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
ORIGINAL_REPORTS = {
    "messages_per_day",
    "messages_per_user_per_day",
    "average_length_per_user_per_day",
    "messages_per_hour_weekday_week",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    loaded, problems = decode(str(TEMPLATE))
    assert not problems, problems
    return dict(loaded)


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == kind
    }


def test_cfn_lint_passes() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), str(TEMPLATE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def handler_names(template: dict[str, Any]) -> list[str]:
    names = []
    for properties in resources(template, "AWS::Serverless::Function").values():
        if "Handler" in properties:  # a zip function
            names.append(properties["Handler"])
        else:  # an image function: the handler is the image's command
            names.extend(properties["ImageConfig"]["Command"])
    return names


def test_every_handler_imports(template: dict[str, Any]) -> None:
    names = handler_names(template)
    assert sorted(names) == [
        "telelake.aws.handlers.etl_handler",
        "telelake.aws.handlers.ingest_handler",
        "telelake.aws.responder.responder_handler",
    ]
    for name in names:
        module, _, function = name.rpartition(".")
        assert callable(getattr(importlib.import_module(module), function)), name


def test_glue_tables_have_exactly_the_parquet_columns(template: dict[str, Any]) -> None:
    tables = {
        properties["TableInput"]["Name"]: properties["TableInput"]
        for properties in resources(template, "AWS::Glue::Table").values()
    }
    assert set(tables) == set(contract.TABLES)
    for name, table in tables.items():
        columns = [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]]
        assert columns == table_columns(name), name
        assert table["PartitionKeys"] == [{"Name": "context_date", "Type": "date"}]
        parameters = table["Parameters"]
        assert parameters["projection.enabled"] == "true"
        assert parameters["projection.context_date.range"] == f"{DEFAULT_SINCE},{RANGE_END}"
        assert parameters["projection.context_date.format"] == "yyyy-MM-dd"
        location = table["StorageDescriptor"]["Location"]["Fn::Sub"]
        assert location == f"s3://${{EnrichedBucket}}/{name}/"
        template_path = parameters["storage.location.template"]["Fn::Sub"]
        assert template_path == f"{location}context_date=${{!context_date}}/"


def test_named_queries_are_the_reports_verbatim(template: dict[str, Any]) -> None:
    reports = {report.name: report.sql for report in REPORTS}
    queries = {
        properties["Name"]: properties["QueryString"]
        for properties in resources(template, "AWS::Athena::NamedQuery").values()
    }
    assert set(queries) >= ORIGINAL_REPORTS
    for name, sql in queries.items():
        assert sql.strip() == reports[name].strip(), name


def test_no_secret_in_the_template(template: dict[str, Any]) -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    assert not re.search(r"\d{6,}:[A-Za-z0-9_-]{30,}", text), "a bot token is in template.yaml"
    for properties in resources(template, "AWS::Serverless::Function").values():
        variables = properties.get("Environment", {}).get("Variables", {})
        assert "TELELAKE_WEBHOOK_SECRET" not in variables
        assert "TELEGRAM_BOT_TOKEN" not in variables
    ingest = resources(template, "AWS::Serverless::Function")["IngestFunction"]
    variables = ingest["Environment"]["Variables"]
    assert variables["TELELAKE_WEBHOOK_SECRET_PARAM"] == {"Ref": "WebhookSecretParameterName"}


def test_buckets_are_encrypted_and_private(template: dict[str, Any]) -> None:
    buckets = resources(template, "AWS::S3::Bucket")
    assert len(buckets) == 2
    for name, properties in buckets.items():
        assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"], name
        block = properties["PublicAccessBlockConfiguration"]
        assert all(block[key] is True for key in block) and len(block) == 4, name


def pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    found = {}
    for requirement in project["project"]["dependencies"]:
        name, _, version = requirement.partition("==")
        found[name.lower()] = version
    return found


def test_images_pin_what_pyproject_pins_and_ingest_stays_light(template: dict[str, Any]) -> None:
    pinned = pins()
    deps: dict[str, list[str]] = {}
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            deps[name] = resource["Metadata"]["DockerBuildArgs"]["FUNCTION_DEPS"].split()
            assert (ROOT / resource["Metadata"]["Dockerfile"]).is_file()
    for function, requirements in deps.items():
        for requirement in requirements:
            package, _, version = requirement.partition("==")
            assert pinned.get(package.lower()) == version, (function, requirement)
    ingest = {r.partition("==")[0] for r in deps["IngestFunction"]}
    assert not ingest & {"pyarrow", "duckdb"}
    assert "pyarrow" in {r.partition("==")[0] for r in deps["EtlFunction"]}
