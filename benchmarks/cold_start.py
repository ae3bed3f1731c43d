"""Lambda cold start: import the handler and answer a first quote, in fresh processes.

Packages a built copy of the test fixture shop with ``comptoir package`` (the folder
Lambda runs), then, alternating in the same run, starts N fresh interpreters that do
nothing (``python -c pass``: the bare start) and N that import
``functions.lambda_handler`` from the package folder alone and answer an API Gateway
quote event. Each child reads the system's monotonic clock (``time.perf_counter``, the
same clock in every process on Linux) once ready, so the figures run from the spawn to
the answer, as a Lambda instance sees it (it does not exit after answering); whole
process times, exit included, are printed too. Prints medians and the difference, which
the target bounds: at most 300 ms over a bare Python start. Usage:

    python benchmarks/cold_start.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from comptoir.cli import main as comptoir  # noqa: E402
from tests.apishop import MINI  # noqa: E402
from tests.lambda_events import http_api_event, json_body  # noqa: E402

TARGET_MS = 300.0
CART = {"items": [{"sku": "BOL-BLEU", "quantity": 1}], "country": "FR"}
# The child reports its own clock too, to split the cold start into import and first answer.
BARE = "import time; print(time.perf_counter())"
COLD = """
import json, sys, time
started = time.perf_counter()
from functions.lambda_handler import handler
imported = time.perf_counter()
response = handler(json.loads(sys.argv[1]), None)
answered = time.perf_counter()
assert response["statusCode"] == 200, response
print(json.dumps({"started": started, "imported": imported, "answered": answered,
                  "heavy": sorted({"stripe", "boto3", "botocore"} & set(sys.modules))}))
"""


def timed(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """(the moment of the spawn, the whole run in ms, what the child printed)."""
    spawned = time.perf_counter()
    run = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = (time.perf_counter() - spawned) * 1000
    if run.returncode != 0:
        raise SystemExit(f"{command[:2]} failed:\n{run.stderr}")
    return spawned, elapsed, run.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh processes of each kind")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="comptoir-cold-"))
    try:
        shop = work / "shop"
        shutil.copytree(MINI, shop)
        if comptoir(["package", "--shop", str(shop)]) != 0:
            raise SystemExit("comptoir package failed")
        folder = shop / "build" / "function"
        event = json.dumps(
            http_api_event(
                "POST", "/api/quote", json_body(CART), {"content-type": "application/json"}
            )
        )
        base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        load_before = os.getloadavg()
        bare: list[float] = []  # spawn -> ready to run code
        bare_whole: list[float] = []
        cold: list[float] = []  # spawn -> quote answered
        cold_whole: list[float] = []
        inside: list[dict[str, Any]] = []
        for run in range(args.runs):
            spawned, elapsed, out = timed([sys.executable, "-c", BARE], base, work)
            bare.append((float(out) - spawned) * 1000)
            bare_whole.append(elapsed)
            env = {
                **base,
                "PYTHONPATH": str(folder),
                "STRIPE_SECRET_KEY": "sk_test_benchmark",
                "STRIPE_WEBHOOK_SECRET": "whsec_benchmark",
                "COMPTOIR_STORE": str(work / f"store-{run}.sqlite3"),  # a new instance's /tmp
            }
            spawned, elapsed, out = timed([sys.executable, "-c", COLD, event], env, work)
            child = json.loads(out)
            cold.append((child["answered"] - spawned) * 1000)
            cold_whole.append(elapsed)
            inside.append(child)
        load_after = os.getloadavg()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def median(values: list[float]) -> float:
        return statistics.median(values)

    over = median(cold) - median(bare)
    print(f"Cold start, {args.runs} fresh processes of each kind (medians; min in brackets)")
    print(f"  Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print(f"  load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min)")
    imports = [(i["imported"] - i["started"]) * 1000 for i in inside]
    quotes = [(i["answered"] - i["imported"]) * 1000 for i in inside]
    print(f"  bare Python, spawn to ready          {median(bare):7.1f} ms  [{min(bare):.1f}]")
    print(f"  handler, spawn to first quote answer {median(cold):7.1f} ms  [{min(cold):.1f}]")
    print(f"    of which importing the handler     {median(imports):7.1f} ms")
    print(f"    of which answering the first quote {median(quotes):7.1f} ms")
    print(
        f"  whole processes, exit included: bare {median(bare_whole):.1f} ms, "
        f"handler {median(cold_whole):.1f} ms"
    )
    heavy = sorted({name for i in inside for name in i["heavy"]})
    print(f"  heavy modules loaded by a quote: {', '.join(heavy) or 'none (stripe, boto3 lazy)'}")
    verdict = "within" if over <= TARGET_MS else "OVER"
    print(f"  over bare Python: {over:.1f} ms ({verdict} the {TARGET_MS:.0f} ms target)")


if __name__ == "__main__":
    main()
