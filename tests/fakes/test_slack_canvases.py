"""The fake Slack's canvases and file uploads, as their reference pages document them (read
2026-12-05; see `sandbox/fakes/slack_canvases.py`): canvases.create with markdown content up to
1 MiB, free workspaces refusing canvases not tabbed in a channel, canvases.edit one change at a
time, canvases.access.set for channels or people (never both, never a DM as a channel), the
scopes and tiers; the upload flow: an upload URL served over HTTP, then complete, which shares
the file in a thread. Driven by the real `AsyncWebClient`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.fakes.slack import FakeSlack
from sandbox.fakes.slack_directory import APP_SCOPES


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[])


def markdown(text: str) -> dict[str, str]:
    return {"type": "markdown", "markdown": text}


async def test_a_canvas_holds_its_markdown_and_title(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    table = "# Report\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nSee [1].\n\n**Sources**\n1. x"
    created = await client.canvases_create(title="Report", document_content=markdown(table))
    canvas = slack.canvases[created["canvas_id"]]
    assert (canvas.title, canvas.markdown, canvas.channel_id) == ("Report", table, None)
    assert slack.canvas_link(canvas.canvas_id).endswith(f"/docs/T0TEAM/{canvas.canvas_id}")


async def test_content_past_one_mebibyte_is_refused(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    slack.canvas_markdown_limit = 100
    with pytest.raises(SlackApiError) as refused:
        await client.canvases_create(title="t", document_content=markdown("x" * 101))
    assert refused.value.response["error"] == "canvas_creation_failed"
    assert not slack.canvases
    ok = await client.canvases_create(title="t", document_content=markdown("x" * 100))
    with pytest.raises(SlackApiError) as grown:
        await client.canvases_edit(
            canvas_id=ok["canvas_id"],
            changes=[{"operation": "insert_at_end", "document_content": markdown("y")}],
        )
    assert grown.value.response["error"] == "canvas_editing_failed"


async def test_a_free_workspace_takes_only_canvases_tabbed_in_a_channel(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    slack.free_team = True
    with pytest.raises(SlackApiError) as refused:
        await client.canvases_create(title="t", document_content=markdown("x"))
    assert refused.value.response["error"] == "free_teams_cannot_create_non_tabbed_canvases"
    tabbed = await client.canvases_create(
        title="t", document_content=markdown("x"), channel_id="C1"
    )
    assert slack.canvases[tabbed["canvas_id"]].access == {"C1": "write"}


async def test_without_the_scope_canvases_are_refused(slack: FakeSlack) -> None:
    slack.scopes = APP_SCOPES - {"canvases:write"}
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[])
    with pytest.raises(SlackApiError) as refused:
        await client.canvases_create(title="t", document_content=markdown("x"))
    assert refused.value.response["error"] == "missing_scope"
    assert refused.value.response["needed"] == "canvases:write"


async def test_bad_document_content_is_refused(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as refused:
        await client.canvases_create(title="t", document_content={"type": "html", "html": "x"})
    assert refused.value.response["error"] == "invalid_arguments"


async def test_an_edit_replaces_the_whole_canvas_one_change_at_a_time(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    created = await client.canvases_create(title="t", document_content=markdown("old"))
    canvas_id = created["canvas_id"]
    await client.canvases_edit(
        canvas_id=canvas_id,
        changes=[{"operation": "replace", "document_content": markdown("new")}],
    )
    await client.canvases_edit(
        canvas_id=canvas_id,
        changes=[{"operation": "rename", "title_content": markdown("Renamed")}],
    )
    canvas = slack.canvases[canvas_id]
    assert (canvas.markdown, canvas.title, canvas.edits) == ("new", "Renamed", 2)
    two = [{"operation": "replace", "document_content": markdown(w)} for w in ("a", "b")]
    with pytest.raises(SlackApiError) as refused:
        await client.canvases_edit(canvas_id=canvas_id, changes=two)
    assert refused.value.response["error"] == "invalid_arguments"
    with pytest.raises(SlackApiError) as missing:
        await client.canvases_edit(canvas_id="F0NONE", changes=two[:1])
    assert missing.value.response["error"] == "canvas_not_found"


async def test_access_goes_to_channels_or_people_never_both(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    slack.add_user("U1", "ann")
    created = await client.canvases_create(title="t", document_content=markdown("x"))
    canvas_id = created["canvas_id"]
    await client.canvases_access_set(canvas_id=canvas_id, access_level="read", channel_ids=["C1"])
    await client.canvases_access_set(canvas_id=canvas_id, access_level="read", user_ids=["U1"])
    assert slack.canvases[canvas_id].access == {"C1": "read", "U1": "read"}
    for wrong in (
        {"channel_ids": ["C1"], "user_ids": ["U1"]},  # both
        {},  # neither
    ):
        with pytest.raises(SlackApiError) as refused:
            await client.canvases_access_set(canvas_id=canvas_id, access_level="read", **wrong)
        assert refused.value.response["error"] == "invalid_parameters"
    with pytest.raises(SlackApiError) as dm:
        await client.canvases_access_set(
            canvas_id=canvas_id, access_level="read", channel_ids=["D1"]
        )
    assert dm.value.response["error"] == "channel_not_found"


async def test_canvas_calls_are_paced_at_their_tier(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    slack.strict_rate_limits = True
    statuses = []
    for _ in range(8):  # Tier 2: a burst of 5, then 20 a minute
        try:
            await client.canvases_create(title="t", document_content=markdown("x"))
            statuses.append(200)
        except SlackApiError as exc:
            statuses.append(exc.response.status_code)
    assert statuses == [200] * 5 + [429] * 3
    assert slack.rate_limited["canvases.create"] == 3


async def test_a_file_is_uploaded_then_shared_in_the_thread(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    root = slack.add_user_message("C1", "U1", "root")
    body = b"# Report\n\nText [1]\n"
    got = await client.files_getUploadURLExternal(filename="report.md", length=len(body))
    async with aiohttp.ClientSession() as http:
        # Before the bytes arrive there is nothing to complete.
        with pytest.raises(SlackApiError) as early:
            await client.files_completeUploadExternal(files=[{"id": got["file_id"]}])
        assert early.value.response["error"] == "file_not_found"
        async with http.post(str(got["upload_url"]), data=body) as response:
            assert response.status == 200
            assert await response.text() == f"OK - {len(body)}"
    done = await client.files_completeUploadExternal(
        files=[{"id": got["file_id"], "title": "Report"}],
        channel_id="C1",
        thread_ts=root,
        initial_comment="Here it is",
    )
    assert done["files"][0]["name"] == "report.md"
    shared = slack.thread("C1", root)[-1]
    assert shared.files[0]["id"] == got["file_id"]
    assert "report.md" in shared.visible_text()
    assert slack.files[got["file_id"]].content == body


async def test_an_upload_url_wants_a_length(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as refused:
        await client.files_getUploadURLExternal(filename="report.md", length=0)
    assert refused.value.response["error"] == "missing_argument"


async def test_uploaded_bytes_must_match_the_length(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    got = await client.files_getUploadURLExternal(filename="r.md", length=10)
    async with (
        aiohttp.ClientSession() as http,
        http.post(str(got["upload_url"]), data=b"short") as response,
    ):
        assert response.status == 400
    assert slack.files[got["file_id"]].content is None


async def test_only_documented_canvas_faults_can_be_injected(slack: FakeSlack) -> None:
    slack.fail("canvases.create", error="free_teams_cannot_create_non_tabbed_canvases")
    with pytest.raises(ValueError, match="does not document"):
        slack.fail("canvases.create", error="msg_too_long")


async def test_a_deleted_canvas_is_gone_and_cannot_be_deleted_twice(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    created = await client.canvases_create(title="t", document_content=markdown("x"))
    await client.canvases_delete(canvas_id=created["canvas_id"])
    assert not slack.canvases
    for call in (
        client.canvases_delete(canvas_id=created["canvas_id"]),
        client.canvases_access_set(
            canvas_id=created["canvas_id"], access_level="read", channel_ids=["C1"]
        ),
    ):
        with pytest.raises(SlackApiError) as gone:
            await call
        assert gone.value.response["error"] == "canvas_not_found"
    slack.canvases_disabled = True
    with pytest.raises(SlackApiError) as disabled:
        await client.canvases_delete(canvas_id="F0NONE")
    assert disabled.value.response["error"] == "canvas_deleting_disabled"
