"""``python -m benchmark [--quick] [--only N ...] [--workdir DIR] [--profile DIR]``: run and print the table.

Prints the machine line and one table (metric, measured, target, pass/fail) to stdout, with a note per metric
below it; progress goes to stderr. Exits 1 when a target fails (``--quick``: when a measurement produces no
number), after printing the table.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from benchmark.harness import log, machine_line
from benchmark.metrics import FULL, MEASUREMENTS, QUICK, Bench, Row


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmark", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes (< 1 min); targets are not enforced")
    p.add_argument(
        "--only",
        type=int,
        action="append",
        choices=range(1, len(MEASUREMENTS) + 1),
        metavar="N",
        help="run metric N only (repeatable)",
    )
    p.add_argument("--workdir", type=Path, help="keep configs, logs and outputs here (default: a temp dir)")
    p.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="run the tap under cProfile, one .prof per run in DIR (figures are then not representative)",
    )
    p.add_argument("--seed", type=int, default=1, help="sandbox data seed")
    return p


def render(rows: list[Row], quick: bool) -> str:
    def verdict(row: Row) -> str:
        if row.value is None:
            return "ERROR"
        if quick:
            return "ran"
        return "pass" if row.ok else "FAIL"

    table = [("#", "metric", "measured", "target", "result")]
    table += [(str(r.number), r.metric, r.measured, r.target, verdict(r)) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(5)]
    lines = []
    for i, line in enumerate(table):
        lines.append(" | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
        if i == 0:
            lines.append("-+-".join("-" * width for width in widths))
    lines.append("")
    for row in rows:
        for note in row.notes:
            lines.append(f"{row.number}: {note}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sizes = QUICK if args.quick else FULL
    chosen = [m for m in MEASUREMENTS if not args.only or m.number in args.only]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="tap-calls-benchmark-"))
    workdir.mkdir(parents=True, exist_ok=True)
    bench = Bench(sizes, workdir, profile_dir=args.profile, seed=args.seed)
    started = time.monotonic()
    rows: list[Row] = []
    try:
        for measurement in chosen:
            row = measurement.row(sizes)
            log(f"metric {row.number}: {row.metric}")
            t0 = time.monotonic()
            try:
                measurement.run(bench, row)
            except Exception as exc:
                row.value, row.ok = None, False
                row.measured = "error"
                row.notes.append(f"error: {type(exc).__name__}: {exc}")
                traceback.print_exc(file=sys.stderr)
            log(f"metric {row.number}: {row.measured} ({time.monotonic() - t0:.0f} s)")
            rows.append(row)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.monotonic() - started
    print(machine_line())
    print(
        f"{'Quick smoke run' if args.quick else 'Benchmark'}: `{' '.join(['python -m benchmark', *(argv if argv is not None else sys.argv[1:])])}`, {elapsed:.0f} s"
    )
    print()
    print(render(rows, args.quick))
    if args.profile:
        print(f"\nProfiled under cProfile (figures not representative): {args.profile}/*.prof")
    if args.quick:
        return 0 if all(r.value is not None for r in rows) else 1
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
