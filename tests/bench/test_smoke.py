"""The benchmark suite at tiny sizes: no thresholds, but the table must come out whole and
its numbers must be sane, so `make bench` cannot rot between runs."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from bench import suite
from bench.__main__ import main as bench_main
from bench.__main__ import produce
from bench.app_probe import GcPause, Probe, WriteCounts, statement_kind
from bench.plans import chain_dag, critical_path, independent, levels, subtask_makespan
from bench.stats import percentile


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


@pytest.mark.slow
def test_smoke_run_writes_the_whole_table_with_sane_values(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    report, text = produce(suite.SMOKE, out, ["--smoke"])
    assert out.read_text(encoding="utf-8") == text
    assert "Command: `.venv/bin/python -m bench --smoke`" in text
    assert "cores (`nproc`)" in text
    for heading in (
        "## Targets",
        "## 1.",
        "## 2.",
        "## 3.",
        "## 4.",
        "## 5.",
        "## 5b.",
        "## 8.",
        "## 9.",
        "## 10.",
    ):
        assert heading in text
    assert len(report.verdicts) == len(suite.SMOKE.cases) + 15
    assert "store on disk" in text
    assert text.count("| 1. critical path:") == len(suite.SMOKE.cases)
    values = report.values
    assert all(math.isfinite(v) for v in values.values())
    for case in suite.SMOKE.cases:
        # Never faster than the scripted latencies; never wildly slower, even side by side
        # (a 0.2 s critical path on 2 cores busy with the whole suite: a sanity bound, the
        # real ratios are `make bench`'s).
        assert 1.0 <= values[f"critical.{case.name}.ratio"] < 4
        assert 1.0 <= values[f"critical.{case.name}.pipeline_ratio"] < 4
        assert 1.0 <= values[f"critical.{case.name}.ratio_without_store"] < 4
    assert 0 < values["ack.p50"] <= values["ack.p99"] <= values["ack.max"] < 3
    assert values["slack.429"] == 0
    assert 3 <= values["slack.posts_per_run"] <= 4
    assert values["slack.updates_per_run"] >= 1
    assert 0 < values["ack.p99_without_store"] < 3
    assert 0 < values["cpu.app"] < 1
    assert 0 < values["cpu.app_without_store"] < 1
    # A run writes its claim, its row, its plan and every subtask's start and end at least.
    assert values["store.transactions_per_run"] >= 3 + 2 * 3
    assert values["store.statements_per_run"] >= values["store.transactions_per_run"]
    assert 0 < values["render.slowest_large_s"] < 60
    assert values["render.worst_ratio"] > 0
    assert 0 < values["cpu.pipeline_only"] < 1
    assert abs(values["memory.per_run"]) < 50 * 1024 * 1024
    assert 0 <= values["stream.first_words_p50"] <= values["stream.first_words_p95"] < 3
    # Several replicas: PostgreSQL and Redis are there in CI and on the project's machines.
    if "replicas.ack_p99_1" not in values:
        assert os.environ.get("CI") != "true", "section 9 needs PostgreSQL and Redis"
        return
    assert 0 < values["replicas.ack_p99_1"] < 3
    assert 0 < values["replicas.ack_p99_3"] < 3
    assert values["replicas.per_minute_1"] > 0
    assert values["replicas.per_minute_3"] > 0
    lease_s = suite.SMOKE.takeover_lease_s
    # Taken over once the lease ran out (never before), well within its bound.
    assert lease_s * 0.5 < values["replicas.takeover_max"] < lease_s * 1.5 + 5
    assert values["replicas.takeover_max"] <= values["replicas.takeover_answered_max"]


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
    assert "Command: `.venv/bin/python -m bench --smoke --only rendering --out" in text
    assert "## 10. Rendering untrusted text" in text
    assert text.count("| 10. rendering untrusted text") == 1
    assert "## 1." not in text
    with pytest.raises(SystemExit):
        bench_main(["--only", "rendering"])  # would overwrite the whole RESULTS.md
