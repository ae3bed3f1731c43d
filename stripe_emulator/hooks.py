"""Test hooks over HTTP, under ``/_emulator`` (same API keys as ``/v1``).

They mirror the Python methods of ``EmulatorState`` and its ``webhooks``
dispatcher, for tests that drive a served emulator from outside:

- ``GET  /_emulator/deliveries[?event=evt_...]``: the delivery log
- ``GET  /_emulator/webhooks/held``: events whose deliveries are held
- ``POST /_emulator/webhooks/hold``: hold every delivery from now on
- ``POST /_emulator/webhooks/release`` ``order[]=evt_...``: send held ones, named first
- ``POST /_emulator/webhooks/delay`` ``seconds=``: send new events that much later
- ``POST /_emulator/webhooks/wait`` ``timeout=``: wait until nothing is in flight
- ``POST /_emulator/events/{id}/duplicate`` ``times=``: send an event again N times
- ``POST /_emulator/events/{id}/replay``: send an event again once
- ``POST /_emulator/events/{id}/delay`` ``seconds=``: postpone its queued deliveries
- ``POST /_emulator/clock/advance`` ``seconds=``: move time forward, then sweep
- ``POST /_emulator/tick``: sweep now (expiries, SEPA settlements)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from . import errors
from .api import authenticate, error_response, json_response, read_values
from .forms import FormDict
from .params import Params
from .state import EmulatorState

HookHandler = Callable[[EmulatorState, Request, Params], Awaitable[object]]


def _hook(
    state: EmulatorState, path: str, method: str, allowed: tuple[str, ...], handler: HookHandler
) -> Route:
    async def endpoint(request: Request) -> Response:
        try:
            authenticate(state, request)
            state.start()
            values: FormDict = await read_values(request)
            params = Params(values, allowed)
            return json_response(await handler(state, request, params))
        except KeyError as exc:
            return error_response(errors.StripeApiError(str(exc.args[0]), status=404))
        except errors.StripeApiError as exc:
            return error_response(exc)

    return Route(path, endpoint, methods=[method])


def _seconds(params: Params, name: str = "seconds") -> float:
    raw = params.string(name, required=True)
    assert raw is not None
    try:
        value = float(raw)
    except ValueError:
        raise errors.invalid_value(name, f"Invalid number: {raw}") from None
    if value < 0:
        raise errors.invalid_value(name, "This value must be greater than or equal to 0.")
    return value


async def _deliveries(state: EmulatorState, request: Request, params: Params) -> object:
    attempts = state.deliveries(params.string("event"))
    return {"object": "list", "data": [attempt.json() for attempt in attempts]}


async def _held(state: EmulatorState, request: Request, params: Params) -> object:
    return {"object": "list", "data": state.webhooks.held_event_ids()}


async def _hold(state: EmulatorState, request: Request, params: Params) -> object:
    state.webhooks.hold()
    return {"holding": True}


async def _release(state: EmulatorState, request: Request, params: Params) -> object:
    order = params.strings("order")
    state.webhooks.release(order)
    return {"holding": False, "released_first": order}


async def _set_delay(state: EmulatorState, request: Request, params: Params) -> object:
    seconds = _seconds(params)
    state.webhooks.set_delay(seconds)
    return {"delay": seconds}


async def _wait(state: EmulatorState, request: Request, params: Params) -> object:
    timeout = _seconds(params, "timeout") if params.has("timeout") else 5.0
    idle = await asyncio.to_thread(state.webhooks.wait_until_idle, timeout)
    return {"idle": idle}


async def _duplicate(state: EmulatorState, request: Request, params: Params) -> object:
    times = params.integer("times", minimum=1, maximum=100) or 1
    count = state.webhooks.duplicate(request.path_params["id"], times)
    return {"queued": count}


async def _replay(state: EmulatorState, request: Request, params: Params) -> object:
    return {"queued": state.webhooks.replay(request.path_params["id"])}


async def _delay_event(state: EmulatorState, request: Request, params: Params) -> object:
    return {"delayed": state.webhooks.delay(request.path_params["id"], _seconds(params))}


async def _advance(state: EmulatorState, request: Request, params: Params) -> object:
    state.advance_clock(_seconds(params))
    return {"now": state.clock.timestamp()}


async def _tick(state: EmulatorState, request: Request, params: Params) -> object:
    state.tick()
    return {"now": state.clock.timestamp()}


def hook_routes(state: EmulatorState) -> list[BaseRoute]:
    return [
        _hook(state, "/_emulator/deliveries", "GET", ("event",), _deliveries),
        _hook(state, "/_emulator/webhooks/held", "GET", (), _held),
        _hook(state, "/_emulator/webhooks/hold", "POST", (), _hold),
        _hook(state, "/_emulator/webhooks/release", "POST", ("order",), _release),
        _hook(state, "/_emulator/webhooks/delay", "POST", ("seconds",), _set_delay),
        _hook(state, "/_emulator/webhooks/wait", "POST", ("timeout",), _wait),
        _hook(state, "/_emulator/events/{id}/duplicate", "POST", ("times",), _duplicate),
        _hook(state, "/_emulator/events/{id}/replay", "POST", (), _replay),
        _hook(state, "/_emulator/events/{id}/delay", "POST", ("seconds",), _delay_event),
        _hook(state, "/_emulator/clock/advance", "POST", ("seconds",), _advance),
        _hook(state, "/_emulator/tick", "POST", (), _tick),
    ]
