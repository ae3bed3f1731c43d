"""The AWS Lambda entry points named by template.yaml (``CodeUri: build/function``).

``handler``: API Gateway HTTP API (payload 2.0) and Lambda Function URL events, through
Mangum, to the same ASGI app ``comptoir serve`` runs, at ``/api``. ``scheduled``: the
EventBridge schedule's pass over stock holds and the mail outbox. All behaviour lives in
``functions.app`` and ``shop/``; ``functions.lambda_app`` builds it once per cold start.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import Any

from functions.lambda_app import cold_start, http_handler, run_scheduled

deployment = cold_start(os.environ)
handler = http_handler(deployment)


def scheduled(event: dict[str, Any], context: Any) -> dict[str, int]:
    return asdict(run_scheduled(deployment))
