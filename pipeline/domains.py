"""Domain lists for Anthropic's web search and fetch tools, checked before any call.

The tools take `allowed_domains` or `blocked_domains` (one of the two, never both): bare
domains without a scheme; a domain covers its subdomains (example.com: docs.example.com too),
a subdomain only itself, and an optional path narrows it (example.com/blog). An entry the API
refuses makes every web call fail with a 400, so an entry is either a domain of that form or
the configuration is refused at start, with the reason (`pipeline.config_words`).

Conservative on purpose: ASCII only (an international domain in its xn-- form), no wildcards
(subdomains are included anyway), no IP addresses, no ports.
"""

from __future__ import annotations

import re

from pipeline import config_words as words

# One DNS label: 1-63 letters, digits or hyphens, no hyphen at either end (RFC 1035, 1123).
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
# A top-level domain is letters, or an IDN in its ASCII form: never all digits (an address).
_TLD = re.compile(r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})")
# What a URL path may hold (RFC 3986 pchar and "/"), percent escapes included.
_PATH = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*")
_MAX_DOMAIN = 253


def domain_problem(entry: str) -> str | None:
    """Why `entry` is not a domain the web tools accept, or None when it is."""
    if "://" in entry or re.match(r"[A-Za-z][A-Za-z0-9+.-]*:(?!\d)", entry):
        return words.DOMAIN_SCHEME
    if any(c.isspace() for c in entry):
        return words.DOMAIN_SPACE
    if not entry.isascii():
        return words.DOMAIN_ASCII
    if "?" in entry or "#" in entry:
        return words.DOMAIN_QUERY
    host, slash, path = entry.partition("/")
    if "@" in host:
        return words.DOMAIN_USER
    if "*" in host:
        return words.DOMAIN_WILDCARD
    if ":" in host:
        return words.DOMAIN_PORT
    return _host_problem(host) or (
        words.DOMAIN_PATH if slash and not _PATH.fullmatch(path) else None
    )


def _host_problem(host: str) -> str | None:
    if len(host) > _MAX_DOMAIN:
        return words.DOMAIN_TOO_LONG
    labels = host.split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        return words.DOMAIN_LABEL
    if len(labels) < 2 or not _TLD.fullmatch(labels[-1]):
        return words.DOMAIN_TLD
    return None


def split_domains(value: str) -> tuple[str, ...]:
    """A comma-separated list from the environment: its entries, stripped, empty ones
    dropped (`a.com, b.org,` is two domains)."""
    return tuple(entry.strip() for entry in value.split(",") if entry.strip())


def check_domains(entries: tuple[str, ...]) -> None:
    """ValueError naming the first entry the web tools would refuse, and why."""
    for entry in entries:
        problem = domain_problem(entry)
        if problem is not None:
            raise ValueError(words.bad_domain(entry, problem))


def _host_and_path(entry: str) -> tuple[str, str]:
    host, _, path = entry.partition("/")
    return host.lower(), path.rstrip("/")


def covers(outer: str, inner: str) -> bool:
    """Whether the domain entry `outer` covers all of `inner`: the same host or a parent of
    it, and no path or a path that `inner`'s starts with (example.com covers
    docs.example.com/a; example.com/blog covers example.com/blog/2024)."""
    outer_host, outer_path = _host_and_path(outer)
    inner_host, inner_path = _host_and_path(inner)
    if inner_host != outer_host and not inner_host.endswith("." + outer_host):
        return False
    return not outer_path or inner_path == outer_path or inner_path.startswith(outer_path + "/")


def narrowed_domains(allowed: tuple[str, ...], blocked: tuple[str, ...]) -> tuple[str, ...]:
    """The allowed entries that no blocked entry touches (blocked wins). The API takes one
    list per request, so an allowed domain with a blocked part inside it (example.com with
    docs.example.com blocked) cannot be sent with a hole in it: it is dropped whole."""
    return tuple(
        entry for entry in allowed if not any(covers(b, entry) or covers(entry, b) for b in blocked)
    )
