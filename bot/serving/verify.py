"""Checking a request to /slack/events before anything parses or logs it.

One place, in front of Bolt, in the order that costs least: the declared size, the
timestamp and signature headers, then at most `MAX_BODY_BYTES` of body, its signature, a
replay check, and only then parsing. The answer says which kind of problem it was and
nothing from the request: 413 too big to check, 401 not provably from Slack (unsigned,
stale, forged or replayed), 400 signed but not something Slack sends."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aiohttp import web
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import Clock, SignatureVerifier

from bot.coordination.replay import MemoryReplayGuard, ReplayGuard
from bot.serving.payloads import well_formed

# Slack's requests are small: a slash command carries at most a few KB, an event envelope
# one message. The largest legitimate one is an event for a maximal 40,000-character
# message, sent twice (text and rich-text blocks) at up to 3 UTF-8 bytes a character,
# ~240 KB; anything bigger is not from Slack and is refused before it is read. (aiohttp's
# own default cap is 1 MiB.)
MAX_BODY_BYTES = 256 * 1024
MAX_AGE_S = 5 * 60  # Slack's rule: a timestamp more than 5 minutes off is refused

_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # seconds since the epoch, ASCII digits only
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")  # v0 HMAC-SHA256, lowercase hex

# What Bolt's parser raises on a body it cannot make a dict of: json errors (ValueError),
# a list/str/number/null where a dict is expected (AttributeError, TypeError, LookupError),
# nesting deeper than the interpreter's recursion limit (RecursionError).
_PARSE_ERRORS = (ValueError, TypeError, AttributeError, LookupError, RecursionError)


@dataclass(frozen=True)
class Refusal:
    """Why a request was refused; `reason` is fixed text, never from the request."""

    status: int
    reason: str


TOO_LARGE = Refusal(413, "request too large")
UNVERIFIED = Refusal(401, "invalid request")
STALE = Refusal(401, "stale request")
REPLAYED = Refusal(401, "replayed request")
MALFORMED = Refusal(400, "malformed request")


class _Clock(Clock):
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


class _BytesSignatureVerifier(SignatureVerifier):
    """slack_sdk's verifier, hashing the body's bytes as they came.

    Slack signs the raw bytes; slack_sdk decodes them as UTF-8 first and raises on a body
    that is not, which would turn a forged non-UTF-8 body into a 500."""

    def generate_signature(self, *, timestamp: str, body: str | bytes) -> str | None:
        """`v0=` + HMAC-SHA256 of `v0:{timestamp}:{body}` under the signing secret."""
        raw = body if isinstance(body, bytes) else body.encode()
        message = b"v0:" + timestamp.encode() + b":" + raw
        digest = hmac.new(self.signing_secret.encode(), message, hashlib.sha256).hexdigest()
        return f"v0={digest}"


class RequestVerifier:
    """Verifies Slack requests (signature, age, size, replay) and parses the ones that pass."""

    def __init__(
        self,
        signing_secret: str,
        *,
        clock: Callable[[], float] = time.time,
        max_body_bytes: int = MAX_BODY_BYTES,
        replays: ReplayGuard | None = None,
    ) -> None:
        self._signatures = _BytesSignatureVerifier(signing_secret, clock=_Clock(clock))
        self._clock = clock
        self._max_body_bytes = max_body_bytes
        self._replays = replays or MemoryReplayGuard()

    async def check(self, request: web.Request) -> AsyncBoltRequest | Refusal:
        """The request for Bolt, or why it was refused (having read no more than needed)."""
        if (request.content_length or 0) > self._max_body_bytes:
            return TOO_LARGE
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not _TIMESTAMP.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
            return UNVERIFIED
        if abs(self._clock() - int(timestamp)) > MAX_AGE_S:
            return STALE
        body = await read_capped(request, self._max_body_bytes)
        if body is None:
            return TOO_LARGE
        if not self._signatures.is_valid(body, timestamp, signature):
            return UNVERIFIED
        if not await self._replays.first_time(signature, int(timestamp)):
            return REPLAYED
        return parse(body, request)


async def read_capped(request: web.Request, limit: int) -> bytes | None:
    """The body, or None as soon as it exceeds `limit` bytes (a chunked body declares no
    length, so the cap is enforced while reading; the rest is never buffered)."""
    body = bytearray()
    while chunk := await request.content.read(limit + 1 - len(body)):
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def parse(body: bytes, request: web.Request) -> AsyncBoltRequest | Refusal:
    """Bolt's request for a verified body, or `MALFORMED` if Slack would never send it
    (not a JSON object or form Bolt can read, or not of a shape Slack sends: `payloads`)."""
    try:
        text = body.decode("utf-8")  # strict: Slack sends UTF-8
        headers: dict[str, str | Sequence[str]] = {
            name: request.headers.getall(name) for name in request.headers
        }
        bolt_request = AsyncBoltRequest(body=text, query=request.query_string, headers=headers)
    except _PARSE_ERRORS:
        return MALFORMED
    if not isinstance(bolt_request.body, dict) or not well_formed(bolt_request.body):
        return MALFORMED
    return bolt_request
