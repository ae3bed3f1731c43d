"""template.yaml (AWS SAM): cfn-lint finds nothing, and the transformed template has what
issue 12 asks for: the function (Python >= 3.12, arm64) behind a Function URL, the table
(keys, gsi1, TTL), the schedule, log retention, least-privilege IAM and no secret in it.

The SAM transform is run offline by samtranslator (a dependency of cfn-lint), so the checks
below read the CloudFormation that `sam deploy` would create.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode
from samtranslator.translator.transform import transform

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


class _NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    """The template's resources after the SAM transform (CodeUri pointed at a dummy S3 key,
    since the folder `comptoir package` makes is not there)."""
    template, matches = decode(str(TEMPLATE))
    assert not matches, matches
    template["Globals"]["Function"]["CodeUri"] = "s3://bucket/function.zip"
    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = "eu-west-3"
    try:
        transformed = transform(template, {}, _NoManagedPolicies())
    finally:
        if previous is None:
            del os.environ["AWS_DEFAULT_REGION"]
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous
    return transformed["Resources"]  # type: ignore[no-any-return]


def of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: r["Properties"] for name, r in resources.items() if r["Type"] == kind}


def test_cfn_lint_finds_nothing() -> None:
    cfn_lint = shutil.which("cfn-lint")
    if cfn_lint is None:
        pytest.fail('cfn-lint is missing: pip install -e ".[test]"', pytrace=False)
    done = subprocess.run(
        [cfn_lint, "--format", "parseable", str(TEMPLATE)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_functions_run_python_312_or_newer_on_arm64(resources: dict[str, Any]) -> None:
    functions = of_type(resources, "AWS::Lambda::Function")
    handlers = {p["Handler"] for p in functions.values()}
    assert handlers == {"functions.lambda_handler.handler", "functions.lambda_handler.scheduled"}
    for name, props in functions.items():
        version = re.fullmatch(r"python3\.(\d+)", props["Runtime"])
        assert version and int(version[1]) >= 12, (name, props["Runtime"])
        assert props["Architectures"] == ["arm64"], name
        env = props["Environment"]["Variables"]
        assert env["COMPTOIR_STORE"] == {"Fn::Sub": "dynamodb://${Table}"}
        assert env["COMPTOIR_MAIL_URL"] == {"Fn::Sub": "ses://${AWS::Region}"}
        assert env["STRIPE_SECRET_KEY_SSM"] == {"Ref": "StripeSecretKeyParameter"}
        assert env["STRIPE_WEBHOOK_SECRET_SSM"] == {"Ref": "StripeWebhookSecretParameter"}
        # the secrets themselves are never variables of the function
        assert not {"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"} & set(env), name


def test_http_through_a_public_function_url(resources: dict[str, Any]) -> None:
    urls = of_type(resources, "AWS::Lambda::Url")
    assert [u["TargetFunctionArn"] for u in urls.values()] == [{"Ref": "ApiFunction"}]
    assert [u["AuthType"] for u in urls.values()] == ["NONE"]


def test_one_pay_per_request_table_with_ttl_and_gsi1(resources: dict[str, Any]) -> None:
    (table,) = of_type(resources, "AWS::DynamoDB::Table").values()
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]} == {
        "pk": "S",
        "sk": "S",
        "gsi1pk": "S",
        "gsi1sk": "S",
    }
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "gsi1"
    assert index["KeySchema"] == [
        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
    ]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires", "Enabled": True}
    assert resources["Table"]["DeletionPolicy"] == "Retain"


def test_the_sweep_runs_on_a_schedule(resources: dict[str, Any]) -> None:
    rules = of_type(resources, "AWS::Events::Rule")
    assert [r["ScheduleExpression"] for r in rules.values()] == ["rate(5 minutes)"]
    (rule,) = rules.values()
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": ["ScheduledFunction", "Arn"]}


def test_each_function_logs_to_a_group_with_retention(resources: dict[str, Any]) -> None:
    groups = of_type(resources, "AWS::Logs::LogGroup")
    assert all(g["RetentionInDays"] == {"Ref": "LogRetentionDays"} for g in groups.values())
    functions = of_type(resources, "AWS::Lambda::Function")
    used = {p["LoggingConfig"]["LogGroup"]["Ref"] for p in functions.values()}
    assert used == set(groups)


def test_iam_is_least_privilege(resources: dict[str, Any]) -> None:
    (role,) = of_type(resources, "AWS::IAM::Role").values()
    assert "ManagedPolicyArns" not in role
    statements = {
        policy["PolicyName"]: policy["PolicyDocument"]["Statement"] for policy in role["Policies"]
    }
    for name, group in statements.items():
        for statement in group:
            actions = statement["Action"]
            actions = actions if isinstance(actions, list) else [actions]
            assert statement["Effect"] == "Allow"
            assert all("*" not in action for action in actions), (name, actions)
            assert "*" not in (statement["Resource"], [statement["Resource"]]), name
    table_actions = set(statements["table"][0]["Action"])
    assert not table_actions & {"dynamodb:Scan", "dynamodb:DeleteTable", "dynamodb:CreateTable"}
    (send,) = statements["send-mail"]
    assert send["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SesIdentity}"
    }
    assert send["Condition"] == {"StringLike": {"ses:FromAddress": {"Fn::Sub": "*@${SesIdentity}"}}}
    (ssm,) = statements["stripe-secrets"]
    assert ssm["Action"] == ["ssm:GetParameter", "ssm:GetParameters"]
    assert [r["Fn::Sub"].rsplit("parameter", 1)[1] for r in ssm["Resource"]] == [
        "${StripeSecretKeyParameter}",
        "${StripeWebhookSecretParameter}",
    ]


def test_no_secret_is_written_in_the_template() -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    assert not re.search(r"\b(sk|rk|pk)_(live|test)_[A-Za-z0-9]|\bwhsec_[A-Za-z0-9]", text)
    assert "AKIA" not in text
