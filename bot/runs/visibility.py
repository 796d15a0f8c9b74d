"""Who may see which runs. Wherever the app lists or quotes runs (the Home tab,
`/research history`, a limit reply), a person sees only what Slack itself shows them:

- their own runs;
- runs in public channels, unless they are a guest: guests see only the channels they are in;
- runs in private channels and group DMs while they are a member;
- never another person's DM with the app.

Slack says who is where: `conversations.info` a channel's type, `users.info` whether a person
is a guest, `users.conversations` the channels they are in (scopes channels:read,
groups:read, mpim:read and users:read). Answers are kept for `ttl_s`, so someone who leaves a
channel stops seeing its runs within that time. What cannot be checked is not shown."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, Protocol, TypeVar

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.render.text import PAGE_LIMIT
from bot.slack.errors import CHANNEL_NOT_FOUND, USER_UNKNOWN
from bot.slack.io import reaching

logger = logging.getLogger(__name__)

TTL_S = 60.0  # how long an answer about who is where is trusted
MAX_ENTRIES = 5000  # answers kept at most (each a person's or a channel's)
MAX_PAGES = 20  # of users.conversations, 999 conversations a page

Kind = Literal["public", "private", "dm"]  # private: a private channel or a group DM
# What users.conversations is asked for: a guest's public channels too, else only the rest.
_PRIVATE_TYPES = "private_channel,mpim"
_ALL_TYPES = "public_channel,private_channel,mpim"


class Listed(Protocol):
    """A run as lists show it: who asked, and where."""

    @property
    def requester(self) -> str: ...

    @property
    def channel(self) -> str: ...


R = TypeVar("R", bound=Listed)
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class Viewer:
    """A person looking at a list of runs: whether they are a guest, and the channels they
    are in (those the app needed to know about)."""

    user: str
    guest: bool
    member_of: frozenset[str]


def may_see(viewer: Viewer, requester: str, channel: str, kind: Kind | None) -> bool:
    """Whether Slack would show `viewer` a run `requester` asked for in `channel` (of `kind`;
    None: unknown, so not shown)."""
    if requester and requester == viewer.user:
        return True
    if kind is None or kind == "dm":
        return False
    if kind == "public" and not viewer.guest:
        return True
    return channel in viewer.member_of


@dataclass(frozen=True)
class Shown(Generic[R]):
    """The runs a person may see, in the order given; `complete` is False when Slack could
    not be asked about some, which are then left out."""

    runs: list[R]
    complete: bool = True


class _Unchecked(Exception):
    """Slack could not say (refused, unreachable): the run stays hidden, nothing is kept."""


class Visibility:
    """Filters lists of runs down to what one person may see (see the module's rule)."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        ttl_s: float = TTL_S,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self._client = client
        self._ttl_s = ttl_s
        self._clock = clock
        self._max_entries = max_entries
        self._kinds: dict[str, tuple[float, Kind | None]] = {}
        self._guests: dict[str, tuple[float, bool]] = {}
        self._members: dict[tuple[str, str], tuple[float, frozenset[str]]] = {}

    async def visible(self, user: str, runs: Sequence[R]) -> Shown[R]:
        """The runs of `runs` that `user` may see; Slack is asked only about others' runs."""
        others = dict.fromkeys(r.channel for r in runs if not (r.requester and r.requester == user))
        if not others:
            return Shown(list(runs))
        complete = True
        kinds: dict[str, Kind | None] = {}
        for channel in others:
            try:
                kinds[channel] = await self._kind(channel)
            except _Unchecked:
                kinds[channel], complete = None, False
        shared = any(kind == "private" for kind in kinds.values())
        public = any(kind == "public" for kind in kinds.values())
        guest, member_of = False, frozenset[str]()
        try:
            # Public channels' runs need to know whether the person is a guest; only a guest's
            # public channels, and anyone's private ones, need their memberships.
            guest = public and await self._guest(user)
            if shared or guest:
                member_of = await self._member_of(user, _ALL_TYPES if guest else _PRIVATE_TYPES)
        except _Unchecked:
            # Fail closed: as a guest in no channel, the person sees only their own runs.
            guest, member_of, complete = True, frozenset(), False
        viewer = Viewer(user, guest, member_of)
        shown = [r for r in runs if may_see(viewer, r.requester, r.channel, kinds.get(r.channel))]
        return Shown(shown, complete)

    async def _kind(self, channel: str) -> Kind | None:
        """The channel's kind; None for one the bot cannot see (a private channel it was
        removed from, a deleted one)."""
        if channel.startswith("D"):
            # DM IDs start with D; asking conversations.info about one would need im:read.
            return "dm"
        cached = self._fresh(self._kinds, channel)
        if cached is not None:
            return cached[1]
        try:
            async with reaching("conversations.info"):
                response = await self._client.conversations_info(channel=channel)
        except SlackApiError as exc:
            if exc.response.get("error") != CHANNEL_NOT_FOUND:
                raise self._unchecked("conversations.info", exc) from exc
            kind: Kind | None = None
        else:
            info = response.get("channel") or {}
            if info.get("is_im"):
                kind = "dm"
            elif info.get("is_private") or info.get("is_mpim"):
                kind = "private"
            else:
                kind = "public"
        self._keep(self._kinds, channel, kind)
        return kind

    async def _guest(self, user: str) -> bool:
        """Whether `user` is a guest (multi- or single-channel); an unknown person counts as
        one, so they see no public channel they are not in."""
        cached = self._fresh(self._guests, user)
        if cached is not None:
            return cached[1]
        try:
            async with reaching("users.info"):
                response = await self._client.users_info(user=user)
        except SlackApiError as exc:
            if exc.response.get("error") not in USER_UNKNOWN:
                raise self._unchecked("users.info", exc) from exc
            guest = True
        else:
            found = response.get("user") or {}
            guest = bool(found.get("is_restricted") or found.get("is_ultra_restricted"))
        self._keep(self._guests, user, guest)
        return guest

    async def _member_of(self, user: str, types: str) -> frozenset[str]:
        """The conversations of `types` that `user` is in (private ones: those the bot is in
        too, which is every one with a run)."""
        key = (user, types)
        cached = self._fresh(self._members, key)
        if cached is not None:
            return cached[1]
        found: set[str] = set()
        cursor: str | None = None
        try:
            for _ in range(MAX_PAGES):
                async with reaching("users.conversations"):
                    response = await self._client.users_conversations(
                        user=user, types=types, limit=PAGE_LIMIT, cursor=cursor
                    )
                found.update(str(c.get("id")) for c in response.get("channels") or [])
                cursor = (response.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        except SlackApiError as exc:
            raise self._unchecked("users.conversations", exc) from exc
        members = frozenset(found)
        self._keep(self._members, key, members)
        return members

    @staticmethod
    def _unchecked(method: str, exc: SlackApiError) -> _Unchecked:
        logger.warning(
            "%s failed: %s; runs it would decide stay hidden", method, exc.response.get("error")
        )
        return _Unchecked(method)

    def _fresh(self, cache: dict[K, tuple[float, V]], key: K) -> tuple[float, V] | None:
        found = cache.get(key)
        if found is None or found[0] < self._clock():
            return None
        return found

    def _keep(self, cache: dict[K, tuple[float, V]], key: K, value: V) -> None:
        if len(cache) >= self._max_entries:
            now = self._clock()
            for stale in [k for k, (until, _) in cache.items() if until < now]:
                del cache[stale]
            while len(cache) >= self._max_entries:
                del cache[next(iter(cache))]  # the oldest answer
        cache.pop(key, None)
        cache[key] = (self._clock() + self._ttl_s, value)
