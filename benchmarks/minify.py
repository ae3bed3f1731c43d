"""The theme's CSS and JavaScript minified by comptoir's own minifiers and by rcssmin/rjsmin.

Prints, for theme/static/css/site.css and theme/static/js/*.js: the source size, then for
each minifier the output size (raw and gzipped at level 9, as a CDN would serve it) and
the fastest of ``--repeat`` runs. rcssmin and rjsmin are not dependencies of comptoir; to
compare with them: ``pip install --target /tmp/minifiers rcssmin rjsmin`` and
``--extra-path /tmp/minifiers``. Their rows are skipped when they cannot be imported.

    python benchmarks/minify.py [--repeat 50] [--extra-path DIR]

Both sides keep ``/*! licence */`` comments, as ours does. A JavaScript output is also
checked with ``node --check`` when node is installed ("ok" or "INVALID" in the last column).
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.assets import minify_css, minify_js  # noqa: E402

Minifier = Callable[[str], str]


def third_party(module_name: str, function_name: str) -> Minifier | None:
    """``module.function(text, keep_bang_comments=True)``, or None when not installed."""
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    function = getattr(module, function_name)

    def minify(text: str) -> str:
        return str(function(text, keep_bang_comments=True))

    return minify


def fastest(minify: Minifier, text: str, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        minify(text)
        best = min(best, time.perf_counter() - start)
    return best


def gzipped_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def node_accepts(script: str) -> str:
    """Whether node parses the script ("ok"/"INVALID"), or "-" without node."""
    node = shutil.which("node")
    if node is None:
        return "-"
    with tempfile.NamedTemporaryFile("w", suffix=".mjs", encoding="utf-8") as file:
        file.write(script)
        file.flush()
        result = subprocess.run([node, "--check", file.name], capture_output=True, check=False)
    return "ok" if result.returncode == 0 else "INVALID"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=50, help="runs per timing (fastest kept)")
    parser.add_argument("--extra-path", type=Path, help="a folder holding rcssmin and rjsmin")
    arguments = parser.parse_args()
    if arguments.extra_path:
        sys.path.insert(0, str(arguments.extra_path))

    static = ROOT / "theme" / "static"
    files = [static / "css" / "site.css", *sorted((static / "js").glob("*.js"))]
    candidates: dict[str, list[tuple[str, Minifier | None]]] = {
        ".css": [("comptoir", minify_css), ("rcssmin", third_party("rcssmin", "cssmin"))],
        ".js": [("comptoir", minify_js), ("rjsmin", third_party("rjsmin", "jsmin"))],
    }
    print("| file | source B (gz) | minifier | output B | gzipped B | time ms | node |")
    print("|---|---|---|---|---|---|---|")
    for path in files:
        text = path.read_text(encoding="utf-8")
        source = text.encode()
        shown = f"{path.relative_to(ROOT)} | {len(source):,} ({gzipped_size(source):,})"
        for name, minify in candidates[path.suffix]:
            if minify is None:
                print(f"| {shown} | {name} | not installed | | | |")
                continue
            output = minify(text)
            data = output.encode()
            seconds = fastest(minify, text, arguments.repeat)
            checked = node_accepts(output) if path.suffix == ".js" else ""
            print(
                f"| {shown} | {name} | {len(data):,} | {gzipped_size(data):,} "
                f"| {seconds * 1000:.2f} | {checked} |"
            )


if __name__ == "__main__":
    main()
