"""The journal's one pair of usage converters: the pipeline's usage survives the store."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.thread.journal import pipeline_usage, stored_usage
from pipeline import Usage

counts = st.integers(min_value=0, max_value=10**12)


@given(counts, counts, counts, counts, counts)
def test_a_usage_comes_back_from_the_store_as_it_went(
    tokens_in: int, tokens_out: int, cache_made: int, cache_read: int, searches: int
) -> None:
    usage = Usage(
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cache_creation_input_tokens=cache_made,
        cache_read_input_tokens=cache_read,
        web_search_requests=searches,
    )
    assert pipeline_usage(stored_usage(usage)) == usage
