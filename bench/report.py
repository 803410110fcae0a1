#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Turns the JSON lines the bench programs print into one Markdown table and one JSON file.

Each input line is an object: {"section", "case", "metric", "unit", "value", "anchor", "anchor_value"}
where value and anchor_value are lists of repeated measurements (the median is reported) and
anchor / anchor_value may be null when a figure has no anchor. Lines that are not JSON are ignored.

    report.py OUT.json < lines
"""

import json
import statistics
import sys


def median(values):
    return statistics.median(values) if values else None


def fmt(value):
    if value is None:
        return ""
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def main():
    rows = []
    for line in sys.stdin:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        row["median"] = median(row.get("value") or [])
        row["anchor_median"] = median(row.get("anchor_value") or [])
        rows.append(row)
    with open(sys.argv[1], "w") as out:
        json.dump(rows, out, indent=1)
    section = None
    for row in rows:
        if row["section"] != section:
            section = row["section"]
            print(f"\n### {section}\n")
            print("| case | metric | pvshm | anchor | anchor value | ratio |")
            print("|---|---|---:|---|---:|---:|")
        ratio = ""
        if row["median"] is not None and row["anchor_median"]:
            ratio = f"{row['median'] / row['anchor_median']:.2f}x"
        unit = row.get("unit", "")
        print(
            f"| {row['case']} | {row['metric']} ({unit}) | {fmt(row['median'])} "
            f"| {row.get('anchor') or ''} | {fmt(row['anchor_median'])} | {ratio} |"
        )


if __name__ == "__main__":
    main()
