"""The push-to-deploy workflow: valid against GitHub's workflow schema (check-jsonschema's
vendored copy), short-lived AWS credentials only, functions deployed before Netlify is asked
to build the same commit; and netlify/ignore-build.sh, which makes Netlify wait for it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "deploy.yml"
IGNORE = ROOT / "netlify" / "ignore-build.sh"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return data


def test_the_workflow_matches_githubs_schema() -> None:
    tool = shutil.which("check-jsonschema")
    if tool is None:
        pytest.fail('check-jsonschema is missing: pip install -e ".[test]"', pytrace=False)
    done = subprocess.run(
        [tool, "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok -- validation done" in done.stdout


def _runs(job: dict[str, Any]) -> list[str]:
    return [step.get("run", "") or step.get("uses", "") for step in job["steps"]]


def test_tests_then_functions_then_site(workflow: dict[str, Any]) -> None:
    jobs = workflow["jobs"]
    assert workflow[True]["push"]["branches"] == ["main"]  # YAML reads `on:` as True
    assert workflow["concurrency"]["cancel-in-progress"] is False
    assert jobs["functions"]["needs"] == "test" and jobs["site"]["needs"] == "functions"
    assert any("bash .ci/run" in run for run in _runs(jobs["test"]))
    runs = _runs(jobs["functions"])
    order = [
        next(i for i, run in enumerate(runs) if marker in run)
        for marker in ("comptoir package", "sam build", "comptoir-test", "comptoir-live")
    ]
    assert order == sorted(order)
    assert "--no-confirm-changeset" in runs[order[-1]]
    site = " ".join(_runs(jobs["site"]))
    assert "NETLIFY_BUILD_HOOK" not in site  # the hook URL stays in the step's env
    assert jobs["site"]["steps"][0]["env"]["HOOK"] == "${{ secrets.NETLIFY_BUILD_HOOK }}"
    assert "GITHUB_SHA" in site and '"ready"' not in site and "ready) exit 0" in site


def test_aws_credentials_are_short_lived(workflow: dict[str, Any]) -> None:
    text = WORKFLOW.read_text()
    assert "AWS_ACCESS_KEY_ID" not in text and "aws-secret-access-key" not in text
    job = workflow["jobs"]["functions"]
    assert job["permissions"]["id-token"] == "write"
    assert workflow["permissions"] == {"contents": "read"}
    (login,) = [s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure")]
    assert set(login["with"]) == {"role-to-assume", "role-session-name", "aws-region"}


@pytest.mark.parametrize(
    ("environment", "builds"),
    [
        ({"CONTEXT": "deploy-preview", "COMMIT_REF": "abc1234"}, True),
        ({"CONTEXT": "branch-deploy", "COMMIT_REF": "abc1234"}, True),
        ({"CONTEXT": "production", "COMMIT_REF": "abc1234"}, False),  # a push: wait for the hook
        (
            {
                "CONTEXT": "production",
                "COMMIT_REF": "abc1234",
                "INCOMING_HOOK_BODY": '{"sha": "abc1234"}',
            },
            True,
        ),
        (
            {
                "CONTEXT": "production",
                "COMMIT_REF": "def5678",
                "INCOMING_HOOK_BODY": '{"sha": "abc1234"}',
            },
            False,  # main moved on: that newer commit's run will ask
        ),
        ({"CONTEXT": "production", "COMMIT_REF": "abc1234", "INCOMING_HOOK_BODY": "{}"}, False),
    ],
)
def test_netlify_builds_production_only_when_the_workflow_asks(
    environment: dict[str, str], builds: bool
) -> None:
    done = subprocess.run(
        ["bash", str(IGNORE)],
        env={"PATH": "/usr/bin:/bin", **environment},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == (1 if builds else 0), done.stderr
