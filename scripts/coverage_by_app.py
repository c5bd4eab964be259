"""Line coverage per app of the last measured pytest run, one line each and the total.

``scripts/test.sh`` runs it after the PostgreSQL pass; it reads the data file named by
``COVERAGE_FILE`` (what ``pytest --cov`` wrote) and groups files by their top-level package,
so a new app appears without editing this list. Only the pytest process is measured: the
gunicorn servers, webhook workers and commands the tests start as subprocesses are not.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import coverage


def by_app(report: dict) -> dict[str, tuple[int, int]]:
    """``{app: (covered lines, statements)}`` from a ``coverage json`` report."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for path, data in report["files"].items():
        parts = Path(path).parts
        app = parts[0] if len(parts) > 1 else "(top level)"
        totals[app][0] += data["summary"]["covered_lines"]
        totals[app][1] += data["summary"]["num_statements"]
    return {app: (covered, statements) for app, (covered, statements) in totals.items()}


def _line(name: str, covered: int, statements: int) -> str:
    percent = 100 * covered / statements if statements else 100.0
    return f"  {name:<14} {percent:5.1f}%  {covered:>6} / {statements} lines"


def main() -> int:
    cov = coverage.Coverage()
    cov.load()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "coverage.json"
        cov.json_report(outfile=str(out))
        report = json.loads(out.read_text())
    apps = by_app(report)
    print("== coverage by app (pytest process, PostgreSQL pass)")
    for app in sorted(apps):
        print(_line(app, *apps[app]))
    totals = report["totals"]
    print(_line("total", totals["covered_lines"], totals["num_statements"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
