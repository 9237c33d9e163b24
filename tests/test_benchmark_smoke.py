"""`python -m benchmark --quick` runs every measurement end to end and prints a number for each.

The real figures come from the full `python -m benchmark`, which is not part of the timed suite: the quick
sizes are too small for the figures to mean anything (metric 4 compares CPU per record over 300 records,
which noise can make negative), so this checks only that every measurement runs and reports a number.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from benchmark.metrics import MEASUREMENTS

REPO = Path(__file__).resolve().parents[1]


def test_quick_benchmark_prints_every_metric() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmark", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith(("TAP_CALLS_", "MELTANO_"))},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-4000:]
    assert proc.stdout.startswith("Machine: "), proc.stdout
    rows = {int(m[1]): m[0] for m in re.finditer(r"^(\d+) +\| .*$", proc.stdout, re.MULTILINE)}
    assert sorted(rows) == list(range(1, len(MEASUREMENTS) + 1)), proc.stdout
    for number, row in rows.items():
        cells = [cell.strip() for cell in row.split("|")]
        assert cells[-1] == "ran", f"metric {number}: {row}"
        assert re.match(r"-?\d", cells[2]), f"metric {number} has no number: {row}"
