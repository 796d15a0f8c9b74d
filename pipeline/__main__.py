"""`python -m pipeline "<goal>"`: one run in the terminal, live progress, then the answer."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from pydantic import TypeAdapter, ValidationError

from pipeline.anthropic_llm import AnthropicLLM, make_client
from pipeline.models import RunResult
from pipeline.run import new_run_id, run_pipeline
from pipeline.settings import PipelineSettings, settings_problem
from pipeline.terminal import TerminalProgress, footer

EXIT_USAGE = 2


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    parser.add_argument("goal", help="what to research, in quotes")
    parser.add_argument("--json", action="store_true", help="print the full run record as JSON")
    return parser.parse_args(argv)


def record(result: RunResult) -> str:
    """The run record as JSON."""
    return TypeAdapter(RunResult).dump_json(result, indent=2).decode()


async def _run(goal: str, settings: PipelineSettings, api_key: str, as_json: bool) -> int:
    config = settings.pipeline_config()
    client = make_client(
        api_key,
        settings.anthropic_base_url,
        config.call_timeout_s,
    )
    run_id = new_run_id()
    progress = TerminalProgress(sys.stderr, run_id, live=sys.stderr.isatty())
    try:
        result = await run_pipeline(
            goal, llm=AnthropicLLM(client), config=config, sink=progress, run_id=run_id
        )
    finally:
        await client.close()
    if as_json:
        print(record(result))
    elif result.status == "failed":
        print(f"\n{result.error}", file=sys.stderr)
    else:
        print(f"\n{result.answer}\n")
        if result.failed_subtasks:
            print(f"Not included (failed): {', '.join(result.failed_subtasks)}")
    print(footer(result), file=sys.stderr)
    return 0 if result.status in ("succeeded", "partial") else 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of the CLI."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = PipelineSettings()
    except ValidationError as exc:
        print(settings_problem(PipelineSettings, exc), file=sys.stderr)
        return EXIT_USAGE
    api_key = settings.anthropic_api_key.get_secret_value() if settings.anthropic_api_key else ""
    if not api_key:
        print("ANTHROPIC_API_KEY is not set: export your Anthropic API key.", file=sys.stderr)
        return EXIT_USAGE
    try:
        return asyncio.run(_run(args.goal, settings, api_key, args.json))
    except KeyboardInterrupt:
        print("Cancelled.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
