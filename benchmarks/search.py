#!/usr/bin/env python3
"""Search benchmark: what making the search index adds to ``comptoir build``.

On the synthetic shop of ``benchmarks/build.py`` (same generator, same seed), it times in
rounds a cold build without the search index (``generator.search.SearchIndex.plan``,
``render`` and ``finish`` replaced by no-ops in that process: no record, no index file;
everything else is the same build, and the script stops if an index was made anyway) and
a cold build with it, and prints each round's ratio and their median (target: at most
1.15 at 10,000 products; the median, as on a shared machine single rounds vary by a tenth
either way). Then, with the index, a rebuild after nothing changed and after one price edited (one
record made again, the index's files rewritten only where their bytes changed).

    python benchmarks/search.py --size 10000 --repeat 7 --workdir /dev/shm/bench-search
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import build as bench  # benchmarks/build.py, beside this file

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from generator.search import FOLDER  # noqa: E402 - after the path is set

WITHOUT = (  # no record made (none planned), no index file written
    "import generator.search as s; s.SearchIndex.plan = lambda self, *a, **k: None; "
    "s.SearchIndex.render = lambda self, *a, **k: 0; "
    "s.SearchIndex.finish = lambda self, *a, **k: 0; "
    "from comptoir.cli import main; raise SystemExit(main())"
)
TARGET = 1.15


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/comptoir-bench-search"))
    parser.add_argument("--source", type=Path, default=REPO)
    args = parser.parse_args()

    source = args.source.resolve()
    base = args.workdir.resolve() / f"n{args.size}"
    trash = bench.Trash(args.workdir.resolve() / ".trash")
    trash.discard(base)
    logs = base / "logs"
    logs.mkdir(parents=True)
    pool = args.workdir.resolve() / "image-pool"
    bench.make_image_pool(pool, args.seed)
    shop = bench.make_shop(args.size, args.seed)
    root, out = base / "comptoir", base / "comptoir" / "output"
    bench.write_comptoir(shop, root, pool)
    env = bench.comptoir_env(source)
    build = bench.comptoir_command(source, root, out)
    without = [sys.executable, "-c", WITHOUT, *build[3:]]
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()}", flush=True)
    print(f"{args.size:,} products: {bench.describe(shop)}", flush=True)

    best: dict[str, float] = {}
    ratios: list[float] = []
    cpu_ratios: list[float] = []
    for number in range(args.repeat):
        times, cpu = {}, {}
        for label, command in (("without search", without), ("with search", build)):
            trash.discard(out)
            trash.discard(root / ".cache")
            row = bench.run_once(label, command, source, out, logs, env)
            assert row.seconds is not None and row.cpu is not None
            times[label], cpu[label] = row.seconds, row.cpu
            if label == "without search" and (out / FOLDER).exists():
                raise SystemExit("the build without search made an index: fix WITHOUT")
            best[label] = min(best.get(label, row.seconds), row.seconds)
        ratios.append(times["with search"] / times["without search"])
        cpu_ratios.append(cpu["with search"] / cpu["without search"])
        print(
            f"round {number + 1}: without {times['without search']:.2f} s "
            f"({cpu['without search']:.1f} CPU-s), with {times['with search']:.2f} s "
            f"({cpu['with search']:.1f} CPU-s): {ratios[-1]:.3f}× wall, "
            f"{cpu_ratios[-1]:.3f}× CPU",
            flush=True,
        )
    fastest = best["with search"] / best["without search"]
    median = statistics.median(ratios)
    print(
        f"fastest of {args.repeat}: without {best['without search']:.2f} s, "
        f"with {best['with search']:.2f} s: {fastest:.3f}×"
    )
    print(f"median of the rounds' ratios: {median:.3f}× wall (target ≤ {TARGET}), ", end="")
    print(f"{statistics.median(cpu_ratios):.3f}× CPU")

    nothing = bench.run_once("rebuild, nothing changed", build, source, out, logs, env)
    target = next(p for p in shop.products[len(shop.products) // 2 :] if p.compare_at is None)
    bench.write_comptoir_product(root, replace(target, price=target.price + Decimal("0.10")))
    edited = bench.run_once("rebuild, one price edited", build, source, out, logs, env)
    print(f"rebuild, nothing changed (no indexing): {nothing.seconds:.2f} s")
    print(f"rebuild, one price edited: {edited.seconds:.2f} s, ", end="")
    print(f"{edited.changed} files changed")
    index = sum(1 for p in (out / FOLDER).rglob("*") if p.is_file())
    size = sum(p.stat().st_size for p in (out / FOLDER).rglob("*") if p.is_file())
    print(f"index: {index:,} files, {size / 1e6:.1f} MB")
    print(f"load average after: {os.getloadavg()}")
    trash.empty()
    return 0 if median <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
