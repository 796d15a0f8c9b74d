"""The benchmark suite at tiny sizes: no thresholds, but the table must come out whole and
its numbers must be sane, so `make bench` cannot rot between runs."""

from __future__ import annotations

import math
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bench import remote_app, suite
from bench.__main__ import PROFILE_NOTES, produce
from bench.__main__ import main as bench_main
from bench.app_probe import GcPause, Probe, WriteCounts, statement_kind
from bench.plans import chain_dag, critical_path, independent, levels, subtask_makespan
from bench.report import Report, Table, Verdict
from bench.stats import percentile
from tests import zygote


def test_critical_path_follows_the_concurrency_cap() -> None:
    assert subtask_makespan(independent("a", 4, 1.0)) == 1.0
    assert subtask_makespan(independent("b", 20, 1.0, concurrency=5)) == 4.0
    assert subtask_makespan(independent("c", 6, 1.0, concurrency=5)) == 2.0
    assert critical_path(independent("d", 4, 1.0)) == 2.0


def test_dag_critical_path_is_its_longest_chain_while_waves_take_longer() -> None:
    dag = chain_dag("dag", 1.0)
    assert subtask_makespan(dag) == 2.0
    waves = sum(max(s.latency for s in level) for level in levels(dag))
    assert waves == 3.5


def test_percentile_is_nearest_rank() -> None:
    samples = [float(i) for i in range(1, 101)]
    assert percentile(samples, 50) == 50.0
    assert percentile(samples, 99) == 99.0
    assert percentile([3.0], 99) == 3.0


def _check_critical(values: dict[str, float]) -> None:
    for case in suite.SMOKE.cases:
        # Never faster than the scripted latencies. How much slower is `make bench`'s to say
        # (a timing on a machine busy with the whole suite bounds nothing).
        for key in ("ratio", "pipeline_ratio", "ratio_without_store"):
            assert values[f"critical.{case.name}.{key}"] >= 1.0


def _check_ack(values: dict[str, float]) -> None:
    assert 0 < values["ack.p50"] <= values["ack.p99"] <= values["ack.max"]
    assert values["ack.p99_without_store"] > 0


def _check_budget(values: dict[str, float]) -> None:
    assert values["slack.429"] == 0
    assert 3 <= values["slack.posts_per_run"] <= 4
    assert values["slack.updates_per_run"] >= 1


def _check_cost(values: dict[str, float]) -> None:
    assert values["cpu.app"] > 0
    assert values["cpu.app_without_store"] > 0
    assert values["cpu.store_ratio"] == values["cpu.app"] / values["cpu.app_without_store"]
    assert values["cpu.pipeline_only"] > 0
    assert abs(values["memory.per_run"]) < 50 * 1024 * 1024
    # A run writes its claim, its row, its plan and every subtask's start and end at least.
    assert values["store.transactions_per_run"] >= 3 + 2 * 3
    assert values["store.statements_per_run"] >= values["store.transactions_per_run"]


def _check_priority(values: dict[str, float]) -> None:
    assert 0 <= values["priority.answer_p50"] <= values["priority.answer_max"]
    assert values["priority.other_root_wait"] >= 0


def _check_streaming(values: dict[str, float]) -> None:
    assert 0 <= values["stream.first_words_p50"] <= values["stream.first_words_p95"]


def _check_replicas(values: dict[str, float]) -> None:
    # Several replicas: PostgreSQL and Redis are there in CI and on the project's machines.
    if "replicas.ack_p99_1" not in values:
        assert os.environ.get("CI") != "true", "section 9 needs PostgreSQL and Redis"
        return
    assert values["replicas.ack_p99_1"] > 0
    assert values["replicas.ack_p99_3"] > 0
    assert values["replicas.ack_p99_ratio"] > 0
    assert values["replicas.per_minute_1"] > 0
    assert values["replicas.per_minute_3"] > 0
    lease_s = suite.SMOKE.takeover_lease_s
    # Taken over once the lease ran out, never before.
    assert values["replicas.takeover_max"] > lease_s * 0.5
    assert values["replicas.takeover_max"] <= values["replicas.takeover_answered_max"]


def _check_rendering(values: dict[str, float]) -> None:
    assert values["render.slowest_large_s"] > 0
    assert values["render.worst_ratio"] > 0


def _check_telemetry(values: dict[str, float]) -> None:
    assert values["telemetry.cpu_off"] > 0
    assert values["telemetry.cpu_on"] > 0
    assert values["telemetry.cpu_ratio"] == values["telemetry.cpu_on"] / values["telemetry.cpu_off"]
    # Each run exported its trace: a root, three stages and more, a span per Claude call.
    assert values["telemetry.spans_per_run"] >= 1 + 3 + 3


def _check_deadline(values: dict[str, float]) -> None:
    # The answer came after the deadline (never before it: the subagent hung) and its
    # integrator call; how close to it is `make bench`'s to say.
    assert values["deadline.answer_s"] >= suite.SMOKE.deadline_s
    assert 0 < values["deadline.integrator_s"] < values["deadline.answer_s"]
    assert values["deadline.ratio"] >= 1.0
    assert values["estimate.worst_usd_error"] >= 0
    assert values["estimate.worst_time_error"] >= 0


def _check_steering(values: dict[str, float]) -> None:
    # Every run steered was noted, after its mention; how soon is `make bench`'s to say.
    assert values["steering.noted"] == suite.SMOKE.steer_runs
    assert 0 < values["steering.noted_p50"] <= values["steering.noted_p99"]


# Each benchmark by its `--only` name: the numbered tables it writes and its sanity checks.
SECTION_CHECKS: dict[str, tuple[tuple[str, ...], Callable[[dict[str, float]], None]]] = {
    "critical": (("1.", "2."), _check_critical),
    "ack": (("3.",), _check_ack),
    "budget": (("4.",), _check_budget),
    "cost": (("5.", "5b."), _check_cost),
    "priority": (("6.",), _check_priority),
    "queue": (("7.",), lambda values: None),
    "streaming": (("8.",), _check_streaming),
    "replicas": (("9.",), _check_replicas),
    "rendering": (("10.",), _check_rendering),
    "telemetry": (("11.",), _check_telemetry),
    "deadline": (("12.",), _check_deadline),
    "steering": (("13.",), _check_steering),
}


def test_every_benchmark_has_its_smoke_check() -> None:
    assert list(SECTION_CHECKS) == list(suite.SECTIONS)


# One test per benchmark, so parallel test workers share them out: the whole suite at smoke
# sizes, one section at a time, each table whole and its numbers sane.
@pytest.mark.slow
@pytest.mark.parametrize("name", list(SECTION_CHECKS))
def test_each_benchmark_at_smoke_size_writes_its_tables_with_sane_values(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its app processes forked from the tests' zygote: what they measure is the same after
    # the start, and the starts' imports were a third of these tests' CPU.
    monkeypatch.setattr(remote_app, "start_module", zygote.start_module)
    out = tmp_path / f"{name}.md"
    argv = ["--smoke", "--only", name, "--out", str(out)]
    report, text = produce(suite.SMOKE, out, argv, [name])
    assert out.read_text(encoding="utf-8") == text
    assert f"Command: `.venv/bin/python -m bench --smoke --only {name} --out" in text
    assert "cores (`nproc`)" in text
    assert "## Targets" in text
    numbers, check = SECTION_CHECKS[name]
    assert [t.title.split()[0] for t in report.tables] == list(numbers)
    for number in numbers:
        assert f"## {number} " in text
    assert report.verdicts
    assert all(math.isfinite(v) for v in report.values.values())
    check(report.values)


def test_the_whole_suite_runs_every_benchmark_once_and_writes_one_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sections themselves are measured above; this is the assembly: every one runs once
    # (side by side or alone), the report keeps SECTIONS order, the profile notes follow.
    ran: list[str] = []

    def stand_in(name: str) -> Callable[[suite.Sizes, Report], Awaitable[None]]:
        async def section(sizes: suite.Sizes, report: Report) -> None:
            ran.append(name)
            report.tables.append(Table(f"{name}. a table", ("a",), [("1",)]))
            report.verdicts.append(Verdict(f"{name} verdict", "any", "1", True))
            report.values[f"{name}.value"] = 1.0

        return section

    monkeypatch.setattr(suite, "SECTIONS", {name: stand_in(name) for name in suite.SECTIONS})
    out = tmp_path / "RESULTS.md"
    report, text = produce(suite.SMOKE, out, ["--smoke"])
    assert sorted(ran) == sorted(suite.SECTIONS)
    assert [t.title for t in report.tables] == [f"{n}. a table" for n in suite.SECTIONS]
    assert "Command: `.venv/bin/python -m bench --smoke`" in text
    for name in suite.SECTIONS:
        assert f"## {name}. a table" in text
    assert text.index("## critical.") < text.index("## rendering.")
    assert not PROFILE_NOTES.exists() or PROFILE_NOTES.read_text(encoding="utf-8") in text


def test_statement_kind_names_what_modifies_data() -> None:
    assert statement_kind("INSERT INTO runs (run_id) VALUES (?)") == "INSERT runs"
    assert statement_kind('UPDATE "subtasks" SET state=? WHERE x') == "UPDATE subtasks"
    assert statement_kind("DELETE FROM deliveries WHERE expires_at <= ?") == "DELETE deliveries"
    assert statement_kind("SELECT * FROM runs") is None
    assert statement_kind("  ") is None


def test_write_counts_subtract_by_kind() -> None:
    before = WriteCounts(2, 3, {"INSERT runs": 1, "UPDATE runs": 2})
    after = WriteCounts(5, 7, {"INSERT runs": 2, "UPDATE runs": 2, "INSERT spend": 3})
    assert after - before == WriteCounts(3, 4, {"INSERT runs": 1, "INSERT spend": 3})


def test_probe_survives_its_line_and_finds_pauses_in_windows() -> None:
    pauses = (GcPause(10.0, 0.2, 2), GcPause(20.0, 0.01, 0))
    probe = Probe(WriteCounts(1, 1, {"INSERT runs": 1}), pauses)
    assert Probe.from_json(probe.to_json()) == probe
    assert probe.pauses_within([(10.1, 10.3)]) == [pauses[0]]  # began before, still on
    assert probe.pauses_within([(9.0, 10.0), (20.02, 21.0)]) == []


def test_only_runs_the_named_benchmark_into_its_own_file(tmp_path: Path) -> None:
    out = tmp_path / "rendering.md"
    assert bench_main(["--smoke", "--only", "rendering", "--out", str(out)]) in (0, 1)
    text = out.read_text(encoding="utf-8")
    assert "## 10. Rendering untrusted text" in text
    assert text.count("| 10. rendering untrusted text") == 1
    assert "## 1." not in text
    with pytest.raises(SystemExit):
        bench_main(["--only", "rendering"])  # would overwrite the whole RESULTS.md
