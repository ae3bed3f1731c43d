"""Printing the results of operations: aligned tables in a terminal, JSON, CSV."""

from __future__ import annotations

import csv
import json
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

Row = Mapping[str, Any]


def add_format_options(parser: Any, *, csv_too: bool = False) -> None:
    """``--json`` (and ``--csv`` where a listing fits a spreadsheet)."""
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    if csv_too:
        parser.add_argument("--csv", action="store_true", help="print CSV instead of a table")


def print_json(value: Any, out: TextIO | None = None) -> None:
    json.dump(value, out or sys.stdout, ensure_ascii=False, indent=2, default=str)
    (out or sys.stdout).write("\n")


def print_csv(rows: Sequence[Row], columns: Sequence[str], out: TextIO | None = None) -> None:
    writer = csv.writer(out or sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])


def print_table(
    rows: Sequence[Row],
    columns: Sequence[str],
    headers: Mapping[str, str] | None = None,
    *,
    right: Sequence[str] = (),
    out: TextIO | None = None,
) -> None:
    """An aligned table; ``right`` names the columns of amounts, aligned right."""
    stream = out or sys.stdout
    titles = [(headers or {}).get(c, c) for c in columns]
    cells = [["" if row.get(c) is None else str(row.get(c)) for c in columns] for row in rows]
    widths = [max([_width(t)] + [_width(r[i]) for r in cells]) for i, t in enumerate(titles)]

    def line(values: Sequence[str]) -> str:
        parts = []
        for column, value, width in zip(columns, values, widths, strict=True):
            pad = " " * (width - _width(value))
            parts.append(pad + value if column in right else value + pad)
        return "  ".join(parts).rstrip()

    stream.write(line(titles) + "\n")
    stream.write("  ".join("─" * w for w in widths) + "\n")
    for values in cells:
        stream.write(line(values) + "\n")


def _width(text: str) -> int:
    """Columns a text takes in a terminal (wide characters count two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
