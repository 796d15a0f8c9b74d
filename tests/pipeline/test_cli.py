"""`python -m pipeline` as a person would run it: against the fake Claude, and with `--demo`
(the offline demo model) in a pipe and under a pseudo-terminal."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pipeline.__main__ import NO_DEMO
from pipeline.testing import simple_plan
from sandbox.fakes.claude import CallInfo, Citation, FakeAnthropic, Fault, Reply, Search
from tests.zygote import PIPE, start_module

# The demo model answers in 1-4 s per call on purpose; a demo run takes about 10 s.
DEMO_LIMIT_S = 60


@pytest.fixture
async def fake_claude() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic() as fake:
        fake.respond("integrator", lambda c: Reply(text="THE INTEGRATED ANSWER"))
        yield fake


def inherited() -> dict[str, str]:
    """PATH, and coverage's settings so the child process is measured too; nothing else."""
    inherited = {k: v for k, v in os.environ.items() if k == "PATH" or k.startswith("COVERAGE_")}
    # The demo at five times its pace: what it shows is the same, and it takes seconds.
    return {**inherited, "ORCHESTRA_DEMO_SPEED": "0.2"}


async def run_cli(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    # Forked from the tests' zygote, which imported it already (under a terminal, below, it
    # starts as a person's does).
    process = await start_module(
        "pipeline", *args, env={**inherited(), **env}, cwd=os.getcwd(), stdout=PIPE, stderr=PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), DEMO_LIMIT_S)
    return process.returncode or 0, out.decode(), err.decode()


def run_in_terminal(*args: str) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as stdin, stdout and stderr; all it wrote."""
    main, child = pty.openpty()
    process = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
        [sys.executable, "-m", "pipeline", *args],
        stdin=child,
        stdout=child,
        stderr=child,
        env={**inherited(), "TERM": "xterm-256color"},
    )
    os.close(child)
    output = bytearray()
    deadline = time.monotonic() + DEMO_LIMIT_S
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(main, 65536)
                except OSError:  # the child closed the terminal: all read
                    break
                if not chunk:
                    break
                output += chunk
            elif process.poll() is not None:
                break
        code = process.wait(timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(main)
    return code, output.decode(errors="replace")


async def test_cli_shows_progress_then_answer_and_footer(fake_claude: FakeAnthropic) -> None:
    env = {"ANTHROPIC_API_KEY": fake_claude.api_key, "ANTHROPIC_BASE_URL": fake_claude.base_url}
    code, out, err = await run_cli("compare three databases", env=env)
    assert code == 0, err
    assert "THE INTEGRATED ANSWER" in out
    assert "Plan:" in err
    for sub in ("s1", "s2", "s3"):
        assert re.search(rf"✓ {sub} · .* done in \d+\.\ds · [\d,]+ tokens", err), err
    assert "Finished." in err
    assert "3/3 subtasks done" in err
    assert "tokens in" in err


async def test_cli_in_a_pipe_logs_each_state_once(fake_claude: FakeAnthropic) -> None:
    env = {"ANTHROPIC_API_KEY": fake_claude.api_key, "ANTHROPIC_BASE_URL": fake_claude.base_url}
    _, _, err = await run_cli("compare three databases", env=env)
    lines = err.splitlines()
    assert len(lines) == len(set(lines)), err
    assert not [line for line in lines if "WARNING" in line or "INFO" in line]


async def test_cli_words_failed_and_skipped_subtasks_as_slack_does(
    fake_claude: FakeAnthropic,
) -> None:
    def subtask(sid: str, role: str) -> dict[str, object]:
        prompt = f"You are the {role.lower()}."
        return {"id": sid, "role": role, "system_prompt": prompt, "input": "the input"}

    fake_claude.respond_plan(
        {
            "goal": "The goal",
            "subtasks": [
                subtask("s1", "Finder"),
                {**subtask("s2", "Editor"), "depends_on": ["s1"]},
                subtask("s3", "Other"),
            ],
        }
    )
    # A 400 is not retried: Finder fails at once, and Editor, which needs it, is skipped.
    fake_claude.inject(Fault(match=lambda c: "finder" in c.system_text, times=None, status=400))
    env = {"ANTHROPIC_API_KEY": fake_claude.api_key, "ANTHROPIC_BASE_URL": fake_claude.base_url}
    code, out, err = await run_cli("goal", env=env)
    assert code == 0, err
    assert re.search(r"✗ s1 · Finder  failed: \S", err), err
    assert "↷ s2 · Editor  skipped: needs s1, which failed" in err
    assert "Finished: 1 done, 1 failed, 1 skipped." in err
    assert "Not included: Finder (failed); Editor (skipped)" in out


async def test_cli_json_prints_the_run_record_and_keeps_stderr_quiet(
    fake_claude: FakeAnthropic,
) -> None:
    env = {"ANTHROPIC_API_KEY": fake_claude.api_key, "ANTHROPIC_BASE_URL": fake_claude.base_url}
    code, out, err = await run_cli("goal", "--json", env=env)
    record = json.loads(out)
    assert code == 0
    assert record["status"] == "succeeded"
    assert set(record["outcomes"]) == {"s1", "s2", "s3"}
    assert record["usage"]["input_tokens"] > 0
    assert err == ""  # not a terminal: no display, and no log lines either


PAGES = [
    ("https://tides.example/moon", "How the Moon drives tides", "the moon pulls"),
    ("https://docs.example/sun", "Solar tides", "the sun adds"),
    ("https://docs.example/spring", "Spring tides", "twice a month"),
]


def web_run(fake: FakeAnthropic) -> None:
    """s1 searches twice and cites two pages, s2 once citing one, s3 works without the web."""

    def subagent(call: CallInfo) -> Reply:
        def cite(n: int) -> Citation:
            return Citation(f"Claim {n}. ", *PAGES[n])

        if "aspect 1" in call.user_text:
            searches = [Search("moon", [p[:2] for p in PAGES[:2]]), Search("sun", ())]
            return Reply(searches=searches, citations=[cite(0), cite(1)])
        if "aspect 2" in call.user_text:
            return Reply(searches=[Search("spring", [PAGES[2][:2]])], citations=[cite(2)])
        return Reply(text="Reasoned without the web.")

    fake.respond_plan(simple_plan("Explain tides.", 3, needs_web={"s1", "s2"}))
    fake.respond("subagent", subagent)
    fake.respond("integrator", lambda c: Reply(text="The Moon [1], the Sun [2], spring [3]."))


async def test_cli_ends_the_answer_with_its_numbered_sources(fake_claude: FakeAnthropic) -> None:
    web_run(fake_claude)
    env = {"ANTHROPIC_API_KEY": fake_claude.api_key, "ANTHROPIC_BASE_URL": fake_claude.base_url}
    code, out, err = await run_cli("explain tides", env=env)
    assert code == 0, err
    answer, listed = out.split("**Sources**\n")
    assert "The Moon [1], the Sun [2], spring [3]." in answer
    assert listed.splitlines() == [
        f"{n}. [{title}]({url})" for n, (url, title, _) in enumerate(PAGES, start=1)
    ]
    assert re.search(r"✓ s1 · .* done in .* · 2 searches · 2 sources$", err, re.M), err
    assert re.search(r"✓ s2 · .* done in .* · 1 search · 1 source$", err, re.M), err
    assert re.search(r"✓ s3 · .* done in \d+\.\ds · [\d,]+ tokens$", err, re.M), err
    assert "3 web searches ($0.0300)" in err


async def test_cli_json_has_the_runs_sources_and_searches(fake_claude: FakeAnthropic) -> None:
    web_run(fake_claude)
    env = {"ANTHROPIC_API_KEY": fake_claude.api_key, "ANTHROPIC_BASE_URL": fake_claude.base_url}
    code, out, err = await run_cli("explain tides", "--json", env=env)
    assert code == 0, err
    record = json.loads(out)
    assert record["sources"] == [
        {"url": url, "title": title, "cited_text": quoted} for url, title, quoted in PAGES
    ]
    assert record["searches"] == fake_claude.total_usage().web_search_requests == 3
    outcomes = record["outcomes"]
    assert [outcomes[s]["searches"] for s in ("s1", "s2", "s3")] == [2, 1, 0]
    assert [len(outcomes[s]["sources"]) for s in ("s1", "s2", "s3")] == [2, 1, 0]


@pytest.mark.slow
async def test_cli_without_key_says_so_and_exits_2() -> None:
    code, _, err = await run_cli("goal", env={})
    assert code == 2
    assert err.startswith("ANTHROPIC_API_KEY is not set: export your Anthropic API key")
    assert "--demo" in err


async def test_cli_names_an_invalid_setting_by_its_variable() -> None:
    code, _, err = await run_cli("goal", env={"ORCHESTRA_CONCURRENCY": "0"})
    assert code == 2
    assert err.startswith("Invalid configuration: ORCHESTRA_CONCURRENCY:")


@pytest.mark.slow
def test_demo_in_a_terminal_shows_the_plan_ticking_progress_and_the_answer() -> None:
    code, screen = run_in_terminal("--demo", "compare three databases")
    assert code == 0, screen
    assert "Offline demo model" in screen
    assert "Plan: Research: compare three databases" in screen
    # The display is redrawn while subtasks run: one subtask's elapsed time moves on.
    ticks = {
        sub: set(re.findall(rf"{sub} · [^\r\n]*running… (\d+\.\d)s", screen))
        for sub in ("s1", "s2", "s3", "s4")
    }
    assert any(len(seen) >= 2 for seen in ticks.values()), ticks
    assert "Demo answer" in screen
    assert "### Demo answer" not in screen  # rendered as Markdown, not shown as source
    assert "4/4 subtasks done" in screen


@pytest.mark.slow
async def test_demo_needs_no_key_and_with_json_prints_only_the_record() -> None:
    code, out, err = await run_cli("--demo", "--json", "what is RAG? [flaky]", env={})
    assert code == 0, err
    record = json.loads(out)
    assert record["status"] == "succeeded"
    assert "offline demo placeholder" in record["answer"]
    assert err == ""
    # Placeholder sources, numbered as the answer cites them; the searches the run made.
    sources = record["sources"]
    assert sources
    for source in sources:
        assert set(source) == {"url", "title", "cited_text"}
        assert source["url"].startswith("https://example.com/demo/")
        assert source["title"].startswith("Placeholder source: ")
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", record["answer"])}
    assert cited == set(range(1, len(sources) + 1))
    outcomes = record["outcomes"].values()
    assert record["searches"] == sum(o["searches"] for o in outcomes) > 0
    assert record["usage"]["web_search_requests"] == record["searches"]
    # [flaky]: one research subtask found the search down and answered from memory.
    assert [o["search_errors"] for o in outcomes if o["search_errors"]] == [["unavailable"]]


@pytest.mark.slow
async def test_demo_prints_placeholder_sources_after_the_answer() -> None:
    code, out, err = await run_cli("--demo", "compare Postgres and MySQL", env={})
    assert code == 0, err
    answer, listed = out.split("**Sources**\n")
    assert "Demo answer" in answer
    entries = re.findall(r"^(\d+)\. \[Placeholder source: [^\]]*\(demo\)\]\((\S+)\)$", listed, re.M)
    assert [int(n) for n, _ in entries] == list(range(1, len(entries) + 1))
    assert all(url.startswith("https://example.com/demo/") for _, url in entries)
    assert {int(n) for n in re.findall(r"\[(\d+)\]", answer)} == {int(n) for n, _ in entries}
    for role in ("Analyst of Postgres", "Analyst of MySQL"):
        assert re.search(rf"✓ s\d · {role} .* · \d searche?s? · \d sources$", err, re.M), err
    assert re.search(r"✓ s3 · Comparison editor .* tokens$", err, re.M), err
    assert re.search(r"\d web searches \(\$0\.0\d{3}\)", err), err


@pytest.mark.slow
async def test_demo_without_the_sandbox_package_says_what_it_needs() -> None:
    # As in the production image, which has no sandbox/: a None module makes imports fail.
    script = (
        "import sys; sys.modules['sandbox'] = None; "
        "from pipeline.__main__ import main; sys.exit(main(['--demo', 'a goal']))"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=inherited(),
    )
    _, err = await asyncio.wait_for(process.communicate(), DEMO_LIMIT_S)
    assert process.returncode == 2
    assert err.decode().strip() == NO_DEMO


@pytest.mark.slow
async def test_out_writes_the_report_with_its_sources_to_a_markdown_file(tmp_path: Path) -> None:
    report = tmp_path / "report.md"
    code, out, err = await run_cli("--demo", "--out", str(report), "compare two queues", env={})
    assert code == 0, err
    written = report.read_text(encoding="utf-8")
    assert written.startswith("# compare two queues\n")
    assert "Demo answer" in written
    assert "**Sources**" in written  # the answer's numbered sources, as printed
    assert "tokens in" in written  # and the run's figures
    assert "Demo answer" in out  # the terminal still shows the answer


@pytest.mark.slow
async def test_out_to_a_place_it_cannot_write_says_so(tmp_path: Path) -> None:
    code, _, err = await run_cli(
        "--demo", "--out", str(tmp_path / "no" / "such" / "dir.md"), "a goal", env={}
    )
    assert "Could not write the report" in err
    assert code == 0  # the run itself answered
