"""Lambda events as AWS sends them, for the handler's tests.

Shapes from AWS's documentation:
- API Gateway HTTP API, payload format 2.0: "Working with AWS Lambda proxy integrations
  for HTTP APIs" (docs.aws.amazon.com/apigateway/latest/developerguide/
  http-api-develop-integrations-lambda.html), the "2.0" request example.
- Lambda Function URL: "Invoking Lambda function URLs", request payload
  (docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads): the same
  format, with ``$default`` sentinels, an ``<url-id>.lambda-url.<region>.on.aws`` domain,
  and a base64 body (``isBase64Encoded: true``) when the content is not text.
- EventBridge scheduled event: "Amazon EventBridge events" (Scheduled Event example).
"""

from __future__ import annotations

import base64
import json
from typing import Any

ACCOUNT = "123456789012"
URL_ID = "abcdefghijklmnopqrstuvwxyz0123456"


def _request_context(method: str, path: str, domain: str, api_id: str) -> dict[str, Any]:
    return {
        "accountId": ACCOUNT,
        "apiId": api_id,
        "domainName": domain,
        "domainPrefix": domain.split(".")[0],
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "192.0.2.1",
            "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
        },
        "requestId": "JKJaXmPLvHcESHA=",
        "routeKey": "$default",
        "stage": "$default",
        "time": "01/Mar/2026:12:00:00 +0000",
        "timeEpoch": 1772366400000,
    }


def _event(
    context: dict[str, Any],
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes | None,
    base64_body: bool,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {
            "accept": "application/json",
            "host": context["domainName"],
            "x-amzn-trace-id": "Root=1-65e1c0a0-0123456789abcdef01234567",
            "x-forwarded-for": "192.0.2.1",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
            **({"content-length": str(len(body))} if body is not None else {}),
            **{name.lower(): value for name, value in headers.items()},
        },
        "requestContext": context,
        "isBase64Encoded": base64_body,
    }
    if query:
        pairs = [part.partition("=") for part in query.split("&")]
        event["queryStringParameters"] = {key: value for key, _, value in pairs}
    if body is not None:
        event["body"] = base64.b64encode(body).decode() if base64_body else body.decode()
    return event


def http_api_event(
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    query: str = "",
    base64_body: bool = False,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event for a request to ``path``."""
    context = _request_context(
        method, path, "r4nd0m1d.execute-api.eu-west-3.amazonaws.com", "r4nd0m1d"
    )
    return _event(context, path, query, headers or {}, body, base64_body)


def function_url_event(
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    query: str = "",
    base64_body: bool = False,
) -> dict[str, Any]:
    """A Lambda Function URL event (what Stripe's webhook calls reach the function as)."""
    context = _request_context(method, path, f"{URL_ID}.lambda-url.eu-west-3.on.aws", URL_ID)
    context["accountId"] = "anonymous"  # an unauthenticated (AuthType NONE) function URL
    context["authentication"] = None
    return _event(context, path, query, headers or {}, body, base64_body)


def json_body(data: Any) -> bytes:
    return json.dumps(data).encode()


def scheduled_event() -> dict[str, Any]:
    """An EventBridge schedule's event (the function ignores its content)."""
    return {
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": "2026-03-01T12:00:00Z",
        "region": "eu-west-3",
        "resources": [f"arn:aws:events:eu-west-3:{ACCOUNT}:rule/comptoir-every-5-minutes"],
        "detail": {},
    }


def response_json(response: dict[str, Any]) -> Any:
    """The JSON body of a handler's response (decoded when it came base64)."""
    body = response.get("body", "")
    raw = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
    return json.loads(raw)
