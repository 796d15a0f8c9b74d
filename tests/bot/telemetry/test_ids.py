"""Trace ids a run keeps across its attempts (bot.telemetry.ids)."""

from __future__ import annotations

import asyncio

from hypothesis import given
from hypothesis import strategies as st

from bot.telemetry.ids import RunTraceIds, new_trace_id, parse_trace_id


def test_a_new_trace_id_is_32_hex_digits_and_parses_back() -> None:
    value = new_trace_id()
    assert len(value) == 32
    assert parse_trace_id(value) == int(value, 16)


@given(st.integers(min_value=1, max_value=2**128 - 1))
def test_a_stored_id_parses_to_its_number(number: int) -> None:
    assert parse_trace_id(f"{number:032x}") == number


@given(st.one_of(st.none(), st.text()))
def test_anything_else_stored_is_no_trace_id(value: str | None) -> None:
    parsed = parse_trace_id(value)
    if parsed is not None:  # only 32 hex digits, not all zero
        assert value is not None
        assert len(value) == 32
        assert int(value, 16) == parsed != 0


def test_the_all_zero_id_is_invalid() -> None:
    assert parse_trace_id("0" * 32) is None


def test_root_spans_inside_using_get_the_run_s_trace_id_and_outside_random_ones() -> None:
    ids = RunTraceIds()
    with ids.using(42):
        assert ids.generate_trace_id() == 42
        with ids.using(None):
            assert ids.generate_trace_id() != 42
    assert ids.generate_trace_id() != 42


async def test_runs_on_one_loop_never_take_each_other_s_trace_id() -> None:
    ids = RunTraceIds()
    both = asyncio.Barrier(2)

    async def run(trace_id: int) -> int:
        with ids.using(trace_id):
            await both.wait()  # both inside `using` at once
            return ids.generate_trace_id()

    assert list(await asyncio.gather(run(1), run(2))) == [1, 2]
