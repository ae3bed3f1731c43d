"""The functions' errors and how they look on the wire: ``{"error": {"code", "message"}}``."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse


class ApiError(Exception):
    """An answer to a request we refuse; the message is safe to show a shopper."""

    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def response(self) -> JSONResponse:
        return error_response(self.status, self.code, self.message, **self.details)


class PaymentError(Exception):
    """The payment provider refused or failed; translated at the boundary."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


def error_response(status: int, code: str, message: str, **details: Any) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    body.update({k: v for k, v in details.items() if v is not None})
    return JSONResponse({"error": body}, status_code=status, headers={"cache-control": "no-store"})


INTERNAL = (500, "internal_error", "Something went wrong on our side. Please try again.")
