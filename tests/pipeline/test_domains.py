"""Domain lists for the web tools: what Anthropic's API takes is accepted as written, anything
else is refused at start naming the entry (a refused entry is a 400 on every web call)."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from pipeline import PipelineConfig
from pipeline.domains import check_domains, domain_problem, split_domains

LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
ALNUM = LETTERS + "0123456789"

# One DNS label as RFC 1035 has it: letters, digits, inner hyphens, at most 63.
label = st.builds(
    lambda first, middle, last: first + middle + last if middle or last else first,
    st.sampled_from(ALNUM),
    st.text(ALNUM + "-", max_size=20),
    st.sampled_from(ALNUM),
).filter(lambda text: len(text) <= 63)
tld = st.text(LETTERS, min_size=2, max_size=10)
domain = st.builds(
    lambda labels, top: ".".join([*labels, top]), st.lists(label, min_size=1, max_size=4), tld
)
path = st.lists(st.text(ALNUM + "-._~", min_size=1, max_size=10), max_size=3).map(
    lambda parts: "/" + "/".join(parts)
)
entry = st.builds(lambda d, p: d + p, domain, st.one_of(st.just(""), path))


@given(entry)
@example("example.com")
@example("docs.example.com")
@example("example.com/blog")
@example("xn--mnchen-3ya.de")
def test_a_bare_domain_with_or_without_a_path_is_accepted(text: str) -> None:
    assert domain_problem(text) is None
    assert PipelineConfig(web_allowed_domains=text).web_allowed_domains == (text,)


@given(st.sampled_from(["https://", "http://", "HTTPS://", "ftp://"]), entry)
def test_a_scheme_is_refused_with_the_reason(scheme: str, text: str) -> None:
    problem = domain_problem(scheme + text)
    assert problem is not None
    assert "scheme" in problem


@given(domain, st.integers(min_value=1, max_value=65535))
def test_a_port_is_refused(host: str, port: int) -> None:
    assert domain_problem(f"{host}:{port}") is not None


@given(domain)
def test_a_wildcard_is_refused(host: str) -> None:
    assert domain_problem(f"*.{host}") is not None


@given(st.lists(entry, min_size=1, max_size=5), st.sampled_from([",", ", ", " , ", ",\t"]))
def test_a_comma_separated_list_gives_its_entries_in_order(entries: list[str], sep: str) -> None:
    config = PipelineConfig(web_blocked_domains=f" {sep.join(entries)}{sep}")
    assert config.web_blocked_domains == tuple(entries)


@given(st.text(max_size=80))
@example("https://x.com")
@example("x.com,,y.org")
@example("exa mple.com")
@example("münchen.de")
@example("1.2.3.4")
@example("localhost")
@example("user@example.com")
@example("example.com?q=1")
@example("example.com/a b")
@example("example.com.")
@example("-example.com")
def test_any_text_is_either_a_list_of_accepted_domains_or_one_clear_refusal(text: str) -> None:
    # Untrusted input: never an unexpected exception, and whatever passes is what the API
    # takes: bare ASCII domains without scheme, port, wildcard, query or whitespace.
    try:
        config = PipelineConfig(web_allowed_domains=text)
    except ValidationError as refused:
        (error,) = refused.errors()
        assert "is not a domain" in error["msg"]
        assert "\n" not in error["msg"]
        return
    for accepted in config.web_allowed_domains:
        host = accepted.partition("/")[0]
        assert accepted.isascii()
        assert not any(c.isspace() for c in accepted)
        assert not set(host) & set(":*@?#")
        assert "." in host
        assert domain_problem(accepted) is None
    # Idempotent: the accepted list, written back, reads the same.
    assert split_domains(",".join(config.web_allowed_domains)) == config.web_allowed_domains


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("https://x.com", "scheme"),
        ("x.com:443", "port"),
        ("*.x.com", "wildcard"),
        ("münchen.de", "xn--"),
        ("localhost", "top-level domain"),
        ("192.168.0.1", "top-level domain"),
        ("ex_ample.com", "letters, digits or hyphens"),
        ("x.com/a b", "spaces"),
        ("x.com#top", "?"),
        ("me@x.com", "user@"),
    ],
)
def test_each_refusal_says_why_and_how_to_write_it(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match="is not a domain") as refused:
        check_domains((text,))
    assert reason in str(refused.value)
    assert "example.com/blog" in str(refused.value)


def test_a_list_given_as_a_tuple_is_checked_too() -> None:
    with pytest.raises(ValidationError, match="is not a domain"):
        PipelineConfig(web_blocked_domains=("good.example", "https://bad.example"))
