"""Stripe-shaped API errors: the JSON body and HTTP status the official library parses.

The library turns 400/404 into ``InvalidRequestError`` (reading ``param`` and
``code``), 401 into ``AuthenticationError`` and ``type == "idempotency_error"``
into ``IdempotencyError``; messages follow Stripe's wording where it is known.
"""

from __future__ import annotations

from collections.abc import Sequence

DOC_URL = "https://stripe.com/docs/error-codes/{}"
# Codes of our own, for things Stripe accepts but this emulator does not implement.
EMULATOR_CODES = frozenset({"emulator_unsupported"})


class StripeApiError(Exception):
    """An error answered as ``{"error": {...}}`` with a 4xx status.

    ``replayable`` marks errors raised while executing a request (not while
    validating it): like Stripe, only those are saved under an idempotency key.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        replayable: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.code = code
        self.param = param
        self.replayable = replayable

    def body(self) -> dict[str, object]:
        """The JSON body Stripe would send."""
        error: dict[str, object] = {"message": self.message, "type": self.type}
        if self.code is not None:
            error["code"] = self.code
            if self.code not in EMULATOR_CODES:
                error["doc_url"] = DOC_URL.format(self.code.replace("_", "-"))
        if self.param is not None:
            error["param"] = self.param
        return {"error": error}


def parameter_unknown(param: str) -> StripeApiError:
    return StripeApiError(
        f"Received unknown parameter: {param}", code="parameter_unknown", param=param
    )


def emulator_unsupported(param: str, detail: str = "") -> StripeApiError:
    """A parameter or value real Stripe accepts but this emulator does not implement."""
    message = f"The offline Stripe emulator does not support the parameter {param}"
    message += f": {detail}" if detail else "."
    return StripeApiError(message, code="emulator_unsupported", param=param)


def parameter_missing(param: str) -> StripeApiError:
    return StripeApiError(
        f"Missing required param: {param}.", code="parameter_missing", param=param
    )


def invalid_integer(param: str, raw: str) -> StripeApiError:
    return StripeApiError(f"Invalid integer: {raw}", code="parameter_invalid_integer", param=param)


def integer_out_of_range(param: str, *, minimum: int | None, maximum: int | None) -> StripeApiError:
    if minimum is not None:
        message = f"This value must be greater than or equal to {minimum}."
    else:
        message = f"This value must be less than or equal to {maximum}."
    return StripeApiError(message, code="parameter_invalid_integer", param=param)


def invalid_empty(param: str) -> StripeApiError:
    return StripeApiError(
        f"You passed an empty string for '{param}'. We assume empty values are an attempt "
        f"to unset a parameter; however '{param}' cannot be unset. You should remove "
        f"'{param}' from your request or supply a non-empty value.",
        code="parameter_invalid_empty",
        param=param,
    )


def invalid_choice(param: str, choices: Sequence[str]) -> StripeApiError:
    listed = ", ".join(choices[:-1]) + f", or {choices[-1]}" if len(choices) > 1 else choices[0]
    return StripeApiError(f"Invalid {param}: must be one of {listed}", param=param)


def invalid_value(param: str, message: str, code: str | None = None) -> StripeApiError:
    return StripeApiError(message, code=code, param=param)


def exclusive(params: Sequence[str]) -> StripeApiError:
    return StripeApiError(
        f"You may only specify one of these parameters: {', '.join(params)}.",
        code="parameters_exclusive",
        param=params[0],
    )


def resource_missing(kind: str, object_id: str, param: str = "id") -> StripeApiError:
    return StripeApiError(
        f"No such {kind}: '{object_id}'",
        status=404,
        code="resource_missing",
        param=param,
        replayable=True,
    )


def unrecognized_url(method: str, path: str) -> StripeApiError:
    return StripeApiError(
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
        "or we can help at https://support.stripe.com/.",
        status=404,
    )


def missing_api_key() -> StripeApiError:
    return StripeApiError(
        "You did not provide an API key. You need to provide your API key in the "
        "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
        "YOUR_SECRET_KEY').",
        status=401,
    )


def invalid_api_key(key: str) -> StripeApiError:
    return StripeApiError(f"Invalid API Key provided: {redact_key(key)}", status=401)


def idempotency_conflict(key: str) -> StripeApiError:
    return StripeApiError(
        "Keys for idempotent requests can only be used with the same parameters they were "
        f"first used with. Try using a key other than '{key}' if you meant to execute a "
        "different request.",
        type="idempotency_error",
    )


def redact_key(key: str) -> str:
    """``sk_test_****1234``: never echo a whole key."""
    prefix, _, rest = key.rpartition("_")
    shown = rest[-4:] if len(rest) > 8 else ""
    return f"{prefix}_{'*' * 8}{shown}" if prefix else "*" * 8
