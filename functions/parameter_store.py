"""Stripe secrets from AWS SSM Parameter Store, for a Lambda whose environment names them.

When ``STRIPE_SECRET_KEY`` (or ``STRIPE_WEBHOOK_SECRET``) is not set but
``STRIPE_SECRET_KEY_SSM`` (``STRIPE_WEBHOOK_SECRET_SSM``) names a SecureString parameter,
the value is read once, at cold start, in one ``GetParameters`` call, and then lives in the
settings like any other secret. boto3 finds its region, credentials and endpoint
(``AWS_ENDPOINT_URL`` for moto) in the standard AWS_* variables, and is imported only here:
it takes about a third of a second to import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from functions.settings import ConfigurationError

# The secret's variable -> the variable naming its SSM parameter.
SSM_NAMES = {
    "STRIPE_SECRET_KEY": "STRIPE_SECRET_KEY_SSM",
    "STRIPE_WEBHOOK_SECRET": "STRIPE_WEBHOOK_SECRET_SSM",
}


def with_ssm_secrets(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with each unset Stripe secret read from the SSM parameter named for it.

    Raises ConfigurationError naming the parameters (never a value) when they cannot be read.
    """
    env = dict(environ)
    wanted = {
        secret: env[names].strip()
        for secret, names in SSM_NAMES.items()
        if not env.get(secret, "").strip() and env.get(names, "").strip()
    }
    if wanted:
        values = read_parameters(sorted(set(wanted.values())))
        env.update({secret: values[name] for secret, name in wanted.items()})
    return env


def read_parameters(names: Sequence[str]) -> dict[str, str]:
    """The decrypted values of SSM parameters, by the name (or ARN) they were asked by."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    listed = ", ".join(names)
    try:
        answer = boto3.client("ssm").get_parameters(Names=list(names), WithDecryption=True)
    except (BotoCoreError, ClientError) as error:
        # botocore's messages name the operation and the cause, never a parameter's value.
        raise ConfigurationError(f"cannot read the SSM parameters {listed}: {error}") from None
    missing = answer.get("InvalidParameters") or []
    if missing:
        raise ConfigurationError(
            f"SSM parameter not found: {', '.join(missing)} (create it as a SecureString "
            "in this function's region, or fix the *_SSM variable naming it)"
        )
    values: dict[str, str] = {}
    for parameter in answer.get("Parameters", []):
        value = parameter["Value"]
        # Asked for by name or by ARN, perhaps with a ":version" selector: answer to each.
        for key in (parameter.get("Name"), parameter.get("ARN")):
            if key:
                values[key] = value
                values[key + parameter.get("Selector", "")] = value
    absent = [name for name in names if name not in values]
    if absent:
        raise ConfigurationError(f"SSM did not return the parameters {', '.join(absent)}")
    return values
