"""A load run on notebook 04's server: K worker threads, N requests, some looping forever, some growing memory.

Run it as `.venv/bin/python benchmarks/load.py` (`--quick` for a short run; `--help` for the flags). It
prints throughput, p50/p99 latency of the requests that do not loop, and the two counts whose target is
0: wrong outcomes and calls cut short by a neighbour. It exits with status 1 if either is not 0.
`measure()` gives the same run to another script (benchmarks/bench.py).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

# Run as a script, this file's folder is on sys.path, not the project's root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from earlyexit_tutorial.aids.load import LoadReport, plan, run_load  # noqa: E402

QUICK = dict(threads=4, requests=200, looping=0.05, growing=0.1)
FULL = dict(threads=4, requests=2000, looping=0.05, growing=0.1)


def measure(*, threads: int, requests: int, looping: float, growing: float) -> LoadReport:
    """One load run: `requests` requests on `threads` threads, with the shares that loop and grow memory."""
    return run_load(plan(requests, looping=looping, growing=growing), threads=threads)


def print_report(report: LoadReport) -> None:
    """The run's figures, one aligned line each, then the targets."""
    rows = report.rows()
    width = max(len(what) for what, _ in rows)
    print("Load run on one engine and one compiled module, a store and a guard per request")
    for what, value in rows:
        print(f"  {what:<{width}}  {value}")
    for what, value in (("wrong outcomes", report.wrong), ("calls cut short by a neighbour", report.cut_short)):
        print(f"  target: {what} = 0 ... {'PASS' if value == 0 else 'MISS'} ({value})")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the flags, run the load, print it; status 1 if a count whose target is 0 is not."""
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--threads", "-k", type=int, help=f"worker threads (default {FULL['threads']})")
    parser.add_argument("--requests", "-n", type=int, help=f"requests in all (default {FULL['requests']})")
    parser.add_argument("--looping", type=float, help="share of guests that loop forever, ended by their own deadline")
    parser.add_argument("--growing", type=float, help="share of guests that grow memory until the store's limit")
    parser.add_argument("--quick", action="store_true", help=f"a short run: {QUICK['requests']} requests")
    args = parser.parse_args(argv)
    settings = dict(QUICK if args.quick else FULL)
    settings.update({key: value for key, value in vars(args).items() if key in settings and value is not None})
    try:
        report = measure(**settings)
    except (TypeError, ValueError) as error:
        parser.error(str(error))
    print_report(report)
    return 0 if report.wrong == report.cut_short == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
