"""`python -m bench`: run the benchmarks, print the table, write bench/RESULTS.md."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench import cost, suite
from bench.report import Report, markdown

RESULTS = Path(__file__).with_name("RESULTS.md")
# Hand-written: what profiling showed and what changed, before/after (kept across runs).
PROFILE_NOTES = Path(__file__).with_name("PROFILE_NOTES.md")


def produce(
    sizes: suite.Sizes, out: Path, argv: Sequence[str], only: Sequence[str] = ()
) -> tuple[Report, str]:
    """Run the suite (or the benchmarks named in `only`) at `sizes`, write the markdown
    report to `out`; the report and text."""
    started = time.monotonic()
    report = asyncio.run(suite.run(sizes, only))
    text = markdown(
        report,
        command=shlex.join([".venv/bin/python", "-m", "bench", *argv]),
        command_note="what `make bench` runs" if not argv else "",
        cores=len(os.sched_getaffinity(0)),  # what `nproc` prints
        date=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        seconds=time.monotonic() - started,
    )
    if PROFILE_NOTES.exists() and not only:
        text += "\n" + PROFILE_NOTES.read_text(encoding="utf-8")
    out.write_text(text, encoding="utf-8")
    return report, text


def profile(path: Path) -> int:
    """Run the CPU-per-run benchmark (store on disk) with the app under pyinstrument."""
    sizes = suite.FULL
    cpu = asyncio.run(cost.app_cpu(sizes.cpu_runs, sizes.cpu_batch, "disk", profile_path=str(path)))
    # The profiler's own sampling inflates this number; the profile's shape is the point.
    print(f"app CPU per run under the profiler: {cpu.app_s * 1000:.1f} ms; profile: {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite; exit 1 if any target is missed (the table is written either way)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for a quick check")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the report")
    parser.add_argument(
        "--profile",
        type=Path,
        help="instead: profile the app process (pyinstrument) through the CPU benchmark",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=list(suite.SECTIONS),
        default=[],
        help="run just this benchmark (repeatable); write the report elsewhere with --out",
    )
    args = parser.parse_args(argv)
    if args.only and args.out.resolve() == RESULTS.resolve():
        parser.error("--only makes a partial report: name where it goes with --out")
    if args.profile is not None:
        return profile(args.profile.resolve())
    report, text = produce(suite.SMOKE if args.smoke else suite.FULL, args.out, argv, args.only)
    print(text)
    print(f"written to {args.out}", file=sys.stderr)
    return 0 if all(v.met is not False for v in report.verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
