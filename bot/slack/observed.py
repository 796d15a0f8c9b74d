"""Slack Web API calls seen by telemetry: each call one client span, each request counted by
method, each 429 (or `ratelimited` answer) counted and noted on its call's span.

Two hooks, both observers only (they never change a call, its arguments or its retries):
- `CallWatch`, a retry handler that never retries, first in the client's handlers: slack_sdk
  shows it every answer of every request (each retried attempt too). Bolt copies a client's
  handlers into the client it makes for each request, so listeners' calls are counted too.
  Those per-request clients are not wrapped for spans, and need not be: no run's call goes
  through them. Every call a run makes (and every call the app's listeners make) goes through
  the app's own client, `deps.io.client`; Bolt's per-request clients serve the authorization
  step alone (an auth.test as a request arrives, before any run), outside any run's trace,
  where a call gets no span in any case (see `traced_api_call`). The process test
  (tests/faults/test_telemetry.py) checks that every other request of two runs is a span.
- the app's own client's `api_call`, wrapped so that a whole call (its retries and the waits
  between them included) is one `slack <method>` span; the watch runs inside that call's
  task, so a 429 becomes an event on it. A class that overrides `api_call` would have to
  be the base of every client class the app makes (one per workspace mode,
  `bot.slack.tenancy.TenantClient` among them); wrapping the one instance serves them all.

Attributes are the method, HTTP status and Slack's error code: never a call's arguments
(a message's text, a channel's name) nor a token."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer, get_current_span
from opentelemetry.util.types import AttributeValue
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.slack.errors import RATE_LIMITED
from bot.telemetry import Meters, Telemetry
from bot.telemetry.current import Current

# A request outside the Web API (a file's upload URL, unique per upload): one label for all.
UPLOAD = "upload"
METHOD = "slack.method"


def method_of(url: str, base_url: str) -> str:
    """The Web API method a request URL calls (`chat.postMessage`), or `UPLOAD` for a URL
    outside `base_url` (whose path is an id: never a metric label)."""
    if not url.startswith(base_url):
        return UPLOAD
    return url[len(base_url) :].split("?", 1)[0].strip("/") or UPLOAD


def rate_limited(status: int | None, body: object) -> bool:
    """Whether an answer is Slack's rate limit: a 429, or `ratelimited` in the body."""
    return status == 429 or (isinstance(body, dict) and body.get("error") in RATE_LIMITED)


def retry_after_s(headers: Mapping[str, list[str] | str]) -> float | None:
    """The answer's Retry-After in seconds (Slack sends whole seconds), if it gives one."""
    for name, values in headers.items():
        if name.lower() != "retry-after":
            continue
        value = values if isinstance(values, str) else next(iter(values), "")
        try:
            return float(value)
        except ValueError:
            return None
    return None


class CallWatch(AsyncRetryHandler):
    """A retry handler that never retries: it counts every request by method, and each
    rate-limited answer, noted as an event on the current span (the call's own, when the
    call was made through a wrapped `api_call`)."""

    def __init__(self, meters: Meters, base_url: str) -> None:
        super().__init__(max_retry_count=0)
        self._meters = meters
        self._base_url = base_url

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        """Count the request (and its 429); never a retry."""
        labels: dict[str, AttributeValue] = {METHOD: method_of(request.url, self._base_url)}
        self._meters.slack_calls.add(1, labels)
        if response is not None and rate_limited(response.status_code, response.body):
            self._meters.slack_rate_limited.add(1, labels)
            event: dict[str, AttributeValue] = {"http.response.status_code": response.status_code}
            wait = retry_after_s(response.headers)
            if wait is not None:
                event["slack.retry_after_s"] = wait
            get_current_span().add_event("slack.rate_limited", event)
        return False


def call_attributes(method: str, base_url: str) -> dict[str, AttributeValue]:
    """What a call's span says before it is made: the method and where it goes."""
    return {
        METHOD: method,
        "http.request.method": "POST",
        "server.address": urlsplit(base_url).hostname or "",
    }


def end_attributes(response: AsyncSlackResponse) -> dict[str, AttributeValue]:
    """What a call's span says of its answer: the HTTP status and Slack's verdict."""
    attributes: dict[str, AttributeValue] = {"http.response.status_code": response.status_code}
    data = response.data
    if isinstance(data, dict):
        attributes["slack.ok"] = bool(data.get("ok"))
        if not data.get("ok") and isinstance(data.get("error"), str):
            attributes["error.type"] = data["error"]
    return attributes


def traced_api_call(client: AsyncWebClient, tracer: Tracer) -> Any:
    """`client.api_call` inside a `slack <method>` client span."""
    call = client.api_call
    base_url = client.base_url

    async def api_call(api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        if not get_current_span().get_span_context().is_valid:
            # Outside a run (start-up, a listener's lookup): counted, but no trace of its
            # own; a trace per `users.info` would bury the runs' traces.
            return await call(api_method, **kwargs)
        # No exception recorded on the span: an error's text may quote the request.
        with Current(
            tracer.start_span(
                f"slack {api_method}",
                kind=SpanKind.CLIENT,
                attributes=call_attributes(api_method, base_url),
            )
        ) as span:
            try:
                response = await call(api_method, **kwargs)
            except SlackApiError as refused:
                span.set_attributes(end_attributes(refused.response))
                span.set_status(Status(StatusCode.ERROR))
                raise
            except BaseException as error:
                span.set_attribute("error.type", type(error).__name__)
                span.set_status(Status(StatusCode.ERROR))
                raise
            span.set_attributes(end_attributes(response))
            return response

    return api_call


def observe_calls(client: AsyncWebClient, telemetry: Telemetry) -> None:
    """Show `telemetry` the client's calls: counted when metrics are on, spans when traces
    are. With telemetry off nothing is added (no cost)."""
    if telemetry.measured:
        handlers = client.retry_handlers
        if not any(isinstance(h, CallWatch) for h in handlers):
            # First: a handler that asks for a retry ends the loop for those after it.
            handlers.insert(0, CallWatch(telemetry.meters, client.base_url))
    if telemetry.traced and "api_call" not in vars(client):
        # slack_sdk calls `self.api_call` for every method: the instance's attribute wins.
        vars(client)["api_call"] = traced_api_call(client, telemetry.tracer)
