"""Every sentence start-up says about configuration, in one place.

The Slack app's settings extend the pipeline's (`pipeline.settings`) and the pipeline imports
nothing from the app, so the one home of these sentences is here, below both: the validators
of `pipeline.config` and `bot.config` give the reasons, `pipeline.settings.settings_problem`
puts the variable's name in front of them, and `bot.__main__` and `sandbox.launch` print the
rest. Every sentence names the variable a person has to change.
"""

from __future__ import annotations

from collections.abc import Sequence

# --- Domain lists (ORCHESTRA_WEB_ALLOWED_DOMAINS, ORCHESTRA_WEB_BLOCKED_DOMAINS) -----------
# Anthropic's web search and fetch tools take bare domains: no scheme, subdomains included
# (example.com covers docs.example.com), a subdomain only itself, an optional path
# (example.com/blog), and one of the two lists, never both. Anything else is a 400 on every
# web call, so it is refused at start.
DOMAIN_FORM = "write it as example.com, docs.example.com or example.com/blog"
DOMAIN_SCHEME = "drop the scheme (https://): the web tools take bare domains"
DOMAIN_PORT = "drop the port: the web tools take bare domains"
DOMAIN_WILDCARD = "drop the wildcard: a domain already covers its subdomains"
DOMAIN_QUERY = "drop the ? or # part: a domain takes a path at most"
DOMAIN_USER = "drop the user@ part: the web tools take bare domains"
DOMAIN_SPACE = "a domain has no spaces (separate the domains with commas)"
DOMAIN_ASCII = "write an international domain in its ASCII form (xn--…)"
DOMAIN_LABEL = (
    "each dot-separated part is 1-63 letters, digits or hyphens, not beginning or ending "
    "with a hyphen"
)
DOMAIN_TLD = "a domain ends in a top-level domain such as .com or .org (no IP addresses)"
DOMAIN_TOO_LONG = "a domain has at most 253 characters"
DOMAIN_PATH = "a path has only URL path characters"
BOTH_DOMAIN_LISTS = (
    "set ORCHESTRA_WEB_ALLOWED_DOMAINS or ORCHESTRA_WEB_BLOCKED_DOMAINS, not both "
    "(the web search API accepts only one of the two lists)"
)


def bad_domain(entry: str, why: str) -> str:
    """One entry of a domain list is not a domain the web tools accept."""
    shown = entry if len(entry) <= 60 else entry[:57] + "..."
    return f"{shown!r} is not a domain: {why}; {DOMAIN_FORM}"


# --- Models --------------------------------------------------------------------------------
# %-style: logged as `logger.warning(DEPRECATED_MODEL, model, roles, variables, date)`.
DEPRECATED_MODEL = (
    "Model %s (the %s model, %s) is deprecated: its end of life is %s, after which every "
    "call to it fails; choose a current model"
)
RETIRED_MODEL = (
    "Model %s (the %s model, %s) reached its end of life on %s: every call to it fails; "
    "choose a current model"
)


def roles_text(roles: Sequence[str]) -> str:
    """Roles for a sentence: "subagent", "orchestrator and integrator", "a, b and c"."""
    return roles[0] if len(roles) == 1 else f"{', '.join(roles[:-1])} and {roles[-1]}"


# --- What is missing -----------------------------------------------------------------------
def missing(names: Sequence[str]) -> str:
    """Variables the app cannot start without."""
    return f"Missing configuration: set {', '.join(names)} (see README, Configuration)."


def half_slack(present: Sequence[str], absent: Sequence[str]) -> str:
    """Some Slack variables are set, not enough for a workspace (`absent`: any one of them
    would do). Neither the real bot nor the sandbox is what the person meant, so `make run`
    says what is missing and starts neither."""
    set_ = " and ".join(present)
    verb = "is" if len(present) == 1 else "are"
    which = "it" if len(absent) == 1 else "one of them"
    return (
        f"Incomplete Slack configuration: {set_} {verb} set, but not {' or '.join(absent)}. "
        f"Set {which} to start the Slack app, or unset {set_} to start the local sandbox "
        "(see README, Install in Slack)."
    )


NO_SLACK = "No Slack tokens configured: starting the local sandbox."
LOG_LEVEL = "Invalid configuration: ORCHESTRA_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR."
