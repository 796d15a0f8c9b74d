"""`python -m pipeline "<goal>"`: one run in the terminal, live progress, then the answer.

`--demo` runs it against the offline demo model (no API key, no network); `--json` prints
the full run record instead of the answer; `--out report.md` also writes the report (the
answer, its Sources list and the run's figures) to a Markdown file."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from pydantic import TypeAdapter, ValidationError
from rich.console import Console
from rich.logging import RichHandler

from pipeline.anthropic_llm import AnthropicLLM, make_client
from pipeline.llm import Source
from pipeline.models import RunResult
from pipeline.report import report_markdown
from pipeline.run import new_run_id, run_pipeline
from pipeline.settings import PipelineSettings, settings_problem
from pipeline.sources import with_sources
from pipeline.summary import footer_parts
from pipeline.terminal import (
    Mode,
    TerminalProgress,
    clean,
    footer,
    not_included_line,
    print_answer,
    say,
)

EXIT_USAGE = 2
DEMO_BANNER = (
    "Offline demo model: no Claude call is made; plans, results and sources (on example.com) "
    "are placeholders. "
    "Add [flaky] or [broken] to a goal to watch retries or a failing subtask."
)
NO_DEMO = (
    "The offline demo (--demo) needs a source checkout of Orchestra: its demo model lives in "
    "sandbox/, which is not installed here."
)


class DemoUnavailable(Exception):
    """`--demo` where sandbox/ is not installed (the production image)."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    parser.add_argument("goal", help="what to research, in quotes")
    parser.add_argument("--json", action="store_true", help="print the full run record as JSON")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="use the offline demo model instead of Claude (no API key needed)",
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help="redraw the progress in place even when stderr is not a terminal",
    )
    parser.add_argument("--verbose", action="store_true", help="log the pipeline's steps")
    parser.add_argument(
        "--out",
        metavar="REPORT.md",
        help="also write the report (answer, sources, figures) to this Markdown file",
    )
    return parser.parse_args(argv)


def record(result: RunResult) -> str:
    """The run record as JSON, with the run's numbered sources and search count (properties,
    which a dataclass dump leaves out)."""
    data = TypeAdapter(RunResult).dump_python(result, mode="json")
    data["sources"] = TypeAdapter(tuple[Source, ...]).dump_python(result.sources, mode="json")
    data["searches"] = result.searches
    return json.dumps(data, indent=2, ensure_ascii=False)


def write_report(path: str, result: RunResult) -> str:
    """Write the run's report to `path`; "" when written, else why not (one line)."""
    body = report_markdown(
        result.goal, result.answer, result.sources, " · ".join(footer_parts(result))
    )
    try:
        Path(path).write_text(body, encoding="utf-8")
    except OSError as exc:
        return f"Could not write the report to {path}: {exc.strerror or exc}"
    return ""


def display_mode(args: argparse.Namespace, stderr_is_terminal: bool) -> Mode:
    """Live on a terminal (or when asked); else a log of changes, or nothing with --json."""
    if args.live or stderr_is_terminal:
        return "live"
    return "quiet" if args.json else "log"


@contextlib.asynccontextmanager
async def demo_model(speed: float = 1.0) -> AsyncIterator[tuple[str, str]]:
    """The offline demo model on loopback: (api key, base URL) for the Anthropic client."""
    try:
        # The one import of sandbox/ in pipeline/, on purpose and lazily: the demo model
        # lives with the other dev fakes in sandbox/fakes, and only this dev path (`--demo`)
        # needs it; the pipeline itself, and the production image (which has no sandbox/),
        # never load it. pipeline/ruff.toml bans the import everywhere else.
        from sandbox.fakes.demo import offline_demo  # noqa: TID251 - `--demo` only
    except ImportError:
        raise DemoUnavailable(NO_DEMO) from None
    async with offline_demo(speed=speed) as endpoint:
        yield endpoint


async def _run(args: argparse.Namespace, settings: PipelineSettings, api_key: str) -> int:
    config = settings.pipeline_config()
    err = Console(stderr=True, force_terminal=True if args.live else None, highlight=False)
    out = Console(highlight=False)
    mode = display_mode(args, err.is_terminal)
    _setup_logging(err if mode == "live" else None, verbose=args.verbose)
    run_id = new_run_id()
    async with contextlib.AsyncExitStack() as stack:
        base_url = settings.anthropic_base_url
        if args.demo:
            api_key, base_url = await stack.enter_async_context(demo_model(settings.demo_speed))
            if mode != "quiet":
                say(err, DEMO_BANNER, "yellow")
        client = make_client(api_key, base_url, config.call_timeout_s)
        stack.push_async_callback(client.close)
        progress = TerminalProgress(err, run_id, mode=mode)
        async with progress:
            result = await run_pipeline(
                args.goal, llm=AnthropicLLM(client), config=config, sink=progress, run_id=run_id
            )
    if args.out and result.status != "failed":
        written = write_report(args.out, result)
        if written:
            say(err, written, "red")
    if args.json:
        print(record(result))
        return 0 if result.status in ("succeeded", "partial") else 1
    if result.status == "failed":
        say(err, f"\n{clean(result.error)}")
    else:
        out.print()
        print_answer(out, with_sources(result.answer, result.sources))
        if result.answer_cut:
            say(out, f"\n{result.answer_cut}", "yellow")
        if result.failed_subtasks:
            say(out, f"\n{not_included_line(result)}")
    say(err, footer(result))
    return 0 if result.status in ("succeeded", "partial") else 1


def _setup_logging(console: Console | None, *, verbose: bool) -> None:
    """Logs above a live display (never through it), and only errors unless --verbose:
    retries and failures are in the display already, in words."""
    level = logging.INFO if verbose else logging.ERROR
    fmt = "%(levelname)s %(name)s: %(message)s"
    if console is None:
        logging.basicConfig(level=level, format=fmt)
        return
    handler = RichHandler(console=console, show_time=False, show_path=False, markup=False)
    logging.basicConfig(level=level, format="%(name)s: %(message)s", handlers=[handler])


def main(argv: list[str] | None = None) -> int:
    """Entry point of the CLI."""
    args = parse_args(argv)
    try:
        settings = PipelineSettings()
    except ValidationError as exc:
        print(settings_problem(PipelineSettings, exc), file=sys.stderr)
        return EXIT_USAGE
    api_key = settings.anthropic_api_key.get_secret_value() if settings.anthropic_api_key else ""
    if not api_key and not args.demo:
        print(
            "ANTHROPIC_API_KEY is not set: export your Anthropic API key "
            '(or try the offline demo: python -m pipeline --demo "<goal>").',
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        return asyncio.run(_run(args, settings, api_key))
    except DemoUnavailable as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("Cancelled.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
