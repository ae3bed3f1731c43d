"""API latency under concurrent local load: quote, checkout, webhook acknowledgement.

Runs the real stack on 127.0.0.1 (uvicorn, SQLite store, .eml outbox, the offline
Stripe emulator) around a built copy of the test fixture shop, then prints p50/p99
latencies and throughput per endpoint, plus a reference: a static file served by the
same server, in the same run. Usage:

    python benchmarks/api.py [--requests 400] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from comptoir.local import local_stack  # noqa: E402
from comptoir.serve import create_app  # noqa: E402
from generator.build import build  # noqa: E402
from stripe_emulator import signature_header  # noqa: E402
from tests.servers import free_port, serve_app  # noqa: E402

CART = {
    "items": [{"sku": "BOL-BLEU", "quantity": 1}, {"sku": "THE-SENCHA-50", "quantity": 2}],
    "country": "FR",
    "promo_code": "BIENVENUE10",
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(
    name: str, count: int, concurrency: int, call: Callable[[httpx.Client], int]
) -> dict[str, float]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    with httpx.Client(timeout=60, limits=httpx.Limits(max_connections=concurrency)) as client:
        call(client)  # warm-up

        def one(_: int) -> None:
            started = time.perf_counter()
            status = call(client)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1

        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(one, range(count)))
        wall = time.perf_counter() - started
    row = {
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000,
        "per_s": count / wall,
    }
    print(
        f"{name:<22} {count:>5} req  p50 {row['p50_ms']:7.1f} ms  p99 {row['p99_ms']:7.1f} ms"
        f"  {row['per_s']:7.1f} req/s  statuses {statuses}",
        flush=True,
    )
    return row


def main() -> int:
    logging.getLogger("comptoir").setLevel(logging.ERROR)  # an unknown session per request
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="comptoir-api-bench-"))
    try:
        shop = work / "shop"
        shutil.copytree(ROOT / "tests" / "fixtures" / "mini", shop)
        config = shop / "content" / "shop.yaml"
        config.write_text(
            config.read_text() + "\ndiscounts:\n"
            '  - {code: BIENVENUE10, kind: percent, value: "10"}\n'
        )
        for product in (shop / "content" / "products").glob("*.md"):  # plenty of stock
            product.write_text(
                product.read_text()
                .replace("stock: 3\n", "stock: 100000\n")
                .replace("stock: 10\n", "stock: 100000\n")
            )
        build(shop)
        port = free_port()
        origin = f"http://127.0.0.1:{port}"
        stack = local_stack(
            shop,
            origin,
            {
                "COMPTOIR_STORE": str(work / "store.sqlite3"),
                "COMPTOIR_OUTBOX": str(work / "outbox"),
            },
        )
        stack.start()
        print(
            f"comptoir API benchmark — {os.cpu_count()} cores, {args.requests} requests per "
            f"endpoint, {args.concurrency} concurrent clients, one uvicorn worker"
        )
        try:
            with serve_app(create_app(shop / "output", stack.api, stack.mounts), port=port):
                headers = {"origin": origin}
                static = measure(
                    "static page (ref.)",
                    args.requests,
                    args.concurrency,
                    lambda c: c.get(origin + "/products/bol/").status_code,
                )
                quote = measure(
                    "POST /api/quote",
                    args.requests,
                    args.concurrency,
                    lambda c: c.post(origin + "/api/quote", json=CART, headers=headers).status_code,
                )
                checkout = measure(
                    "POST /api/checkout",
                    args.requests // 4,
                    args.concurrency,
                    lambda c: (
                        c.post(origin + "/api/checkout", json=CART, headers=headers).status_code
                    ),
                )
                secret = stack.settings.webhook_secret.reveal()
                payload = json.dumps(
                    {
                        "id": "evt_bench",
                        "object": "event",
                        "type": "checkout.session.expired",
                        "api_version": "x",
                        "created": int(time.time()),
                        "livemode": False,
                        "data": {"object": {"id": "cs_test_benchunknown0001"}},
                    }
                ).encode()

                def webhook(client: httpx.Client) -> int:
                    header = signature_header(payload, secret, int(time.time()))
                    return client.post(
                        origin + "/api/stripe/webhook",
                        content=payload,
                        headers={"stripe-signature": header},
                    ).status_code

                ack = measure("webhook ack (signed)", args.requests, args.concurrency, webhook)
        finally:
            stack.close()
        print(
            f"\nratios to the static page p50: quote {quote['p50_ms'] / static['p50_ms']:.1f}x,"
            f" checkout {checkout['p50_ms'] / static['p50_ms']:.1f}x,"
            f" webhook {ack['p50_ms'] / static['p50_ms']:.1f}x"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
