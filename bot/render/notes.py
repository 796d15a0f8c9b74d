"""Every sentence the app says about a run's life, in one place (tests and docs quote them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.render.text import mrkdwn_line

PAUSED = (
    ":double_vertical_bar: Paused for a restart; I will resume where I left off "
    "(nothing already done is lost)."
)
USAGE_HINT = (
    "Tell me what to research, e.g. `{command} compare Postgres, MySQL and SQLite for a "
    "small SaaS`, or mention me with the goal. `{command} history` lists this channel's runs."
)
BUSY = "Orchestra is restarting and not taking new runs right now; please ask again shortly."
ALREADY_ENDED = "That run has already ended."
ALREADY_FINISHED = "That run has already finished, so there is nothing to cancel."
NOT_THIS_RUN = "That button does not belong to this run's message, so I ignored it."
OUTPUT_GONE = "That output is no longer available (its text was removed after a while)."
OUTPUT_POSTED = "That output is already in this thread."
OUTPUT_POSTING = "That output is being posted in this thread right now."
OUTPUT_NOT_CHECKED = (
    "I could not check whether that output is already in the thread (a service I need is "
    "unreachable), so I did not post it; please try again in a minute."
)


def output_posted(link: str) -> str:
    """Full output clicked again: where it is (`link`: to its message, '' without one)."""
    if not link:
        return OUTPUT_POSTED
    return f"That output is already in this thread: <{link}|see it here>."


NO_THREAD = "That run has no thread to post in."
# A partly written answer whose run was interrupted (a restart, a replica lost) and resumed.
ANSWER_INTERRUPTED = (
    ":arrows_counterclockwise: _This answer was cut off when the run was interrupted; "
    "the whole answer follows below._"
)
# The same for a DM run's streamed reply (its plan, and maybe part of the answer).
REPLY_INTERRUPTED = (
    ":arrows_counterclockwise: _This reply was cut off when the run was interrupted; "
    "the run goes on below, with the whole answer._"
)
UNKNOWN_RUN = "That run is no longer available here."
NOT_FINISHED = "That run is still going; wait for it to end first."
CANCEL_NOT_SENT = (
    "I could not pass your Cancel on to the server running this run just now; "
    "please press Cancel again in a moment."
)
# A delivery that could not be checked against earlier ones (Redis and the run store both
# unreachable): refused, rather than risk starting the same run twice.
NOT_CHECKED = (
    "I could not check whether this request was already started (a service I need is "
    "unreachable), so I did not start it; please ask again in a minute."
)

# The agent messages tab (a DM with the app): its status line while a run plans, what a new
# thread suggests (the manifest's `assistant_view.suggested_prompts` are the same), the
# streamed plan's titles and the feedback buttons under an answer.
PLANNING_STATUS = "is planning the research…"
PROMPTS_TITLE = "Ask me to research something, for example:"
SUGGESTED_PROMPTS = (
    ("Compare options", "Compare Postgres, MySQL and SQLite for a small SaaS"),
    ("Explain a topic", "Explain how HTTP/3 differs from HTTP/2, with sources"),
    ("Summarise a field", "Summarise this year's research on small language models"),
)
DM_USAGE_HINT = (
    "Tell me what to research, e.g. `compare Postgres, MySQL and SQLite for a small SaaS`."
)
PLAN_WRITING = "Writing the answer"
PLAN_FAILED = "Stopped"
# A stopped run's tasks (shown `complete`, never `error`: see bot.render.native._TASK_STATUS).
TASK_STOPPED = "stopped before it finished"
TASK_NOT_STARTED = "stopped before it started"
ANSWER_CONTINUES = "_The answer continues below._"
ANSWER_BELOW = "_The answer is below._"
FEEDBACK_GOOD = "Helpful"
FEEDBACK_BAD = "Not helpful"
FEEDBACK_THANKS = "Thanks for the feedback."


def researching(goal: str) -> str:
    """The streamed plan's title while its subtasks run (`goal` made inert by the caller)."""
    return f"Researching: {goal}"


def finished(done: int, failed: int, skipped: int) -> str:
    """The streamed plan's title once the answer is in: what each subtask ended as."""
    if not failed and not skipped:
        return f"Finished: {done} done"
    parts = [
        f"{done} done",
        f"{failed} failed" if failed else "",
        f"{skipped} skipped" if skipped else "",
    ]
    return "Finished: " + ", ".join(p for p in parts if p)


def finished_at_deadline(done: int, cut: int) -> str:
    """The streamed plan's title when the deadline cut subtasks (issue 23.4): Continue runs
    them."""
    return f"Cut at the deadline: {done} done, {cut} cut"


def queued(ahead: int) -> str:
    """Where a waiting run stands (the plan message says it while the run waits)."""
    if ahead == 0:
        return "Queued: yours is next; it starts as soon as a run ends."
    return f"Queued: {ahead} run{'s' if ahead != 1 else ''} ahead of yours."


@dataclass(frozen=True)
class Private:
    """Words for one person only (they may quote that person's runs, which others in the
    conversation may not see), and `instead`: what may be said in public, naming them, when
    only a public reply can reach them."""

    text: str
    instead: str


def over_limit(limit: int, links: list[str], starting: int) -> str:
    """Refusal of a request past the per-person limit: every run the person has going, each
    once (a link to its thread, or counted as still starting), and their number."""
    going = len(links) + starting
    if going == 0:  # counted on another server, gone from the run store's view just now
        return f"You are at the limit per person ({limit} runs going). {_WAIT_FOR_ONE}"
    items = [*links, f"{starting} still starting"] if starting else links
    return (
        f"You already have {going} run{'s' if going != 1 else ''} going ({', '.join(items)}); "
        f"the limit per person is {limit}. {_WAIT_FOR_ONE}"
    )


def over_limit_public(limit: int) -> str:
    """The limit refusal said in a thread, naming none of the person's runs."""
    return (
        f"I did not start this: you are at the limit per person ({limit} runs going). "
        f"{_WAIT_FOR_ONE}"
    )


_WAIT_FOR_ONE = "Wait for one to end or cancel one, then ask again."
# Lists of runs leave out those Slack could not be asked about (who may see them).
UNCHECKED = "_Some runs are not shown: I could not check just now who may see them._"
HISTORY_EMPTY = "No runs in this channel yet."
HISTORY_MINE_EMPTY = "You have no runs yet."
HISTORY_MINE = "Your latest Orchestra runs"
HISTORY_UNREADABLE = "I could not read the run history just now; please try again."
# What a public reply may say when the history could not be shown to the person privately
# (it may list runs others in the conversation may not see).
HISTORY_NOT_SHOWN = "I could not show you the run history privately; please try again."


def history_here(channel: str) -> str:
    """The title of a conversation's history (a private reply)."""
    return f"Latest Orchestra runs in <#{channel}>"


def help_text(command: str) -> str:
    """`{command} help`, or `help` in a mention or a DM: what Orchestra does and how to ask
    (a private reply; `command` as configured)."""
    return (
        "*Orchestra* researches a goal with a team of Claude agents and answers in a thread.\n"
        f"• `{command} <goal>`, e.g. `{command} compare Postgres, MySQL and SQLite for a small "
        "SaaS`; or mention me with the goal (inside a thread I read the thread first), or "
        "write it to me in a direct message.\n"
        f"• `{command} history`, or mention me with `history`: the latest runs here, shown "
        "only to you (in a direct message: your own runs).\n"
        f"• `{command} help`, or `help`: this message.\n"
        f"• `{command} settings`: this channel's standing instructions, web domains, daily"
        " budget, plan review and default effort (workspace admins, or members where the"
        f" workspace allows it); `{command} settings workspace`: the workspace's defaults.\n"
        "• While a run works its plan has Cancel; once it ends, Retry (a failed part) and "
        "Re-run."
    )


HOME_MINE_EMPTY = "You have not asked Orchestra anything yet."
HOME_TEAM_EMPTY = "No runs you can see yet: runs in channels you are in show here."


def who(user: str) -> str:
    """A person as a mention; an app or integration (no user) is never an empty `<@>`."""
    return f"<@{user}>" if user else "an app"


# After what a resumed run goes on: a restart of the app (the default), or a takeover.
RESTART = "a restart"


def resumed(done: int, total: int, *, why: str = RESTART) -> str:
    """The note a resumed run posts in its thread (`why`: after what)."""
    if total == 0:
        return f":arrow_forward: Resumed after {why}: planning again."
    return (
        f":arrow_forward: Resumed after {why}: {done} of {total} subtasks "
        f"{'was' if done == 1 else 'were'} already done."
    )


# A run taken over from a replica that stopped answering (it died, or lost Redis and the
# database): for the people in the thread, the run was interrupted and goes on.
TAKEN_OVER = "an interruption"


def cannot_resume(why: str) -> str:
    """A run that could not be resumed, and why; a Re-run button follows."""
    return f":warning: I could not resume this run after a restart: {why}"


def only_requester(requester: str, what: str) -> str:
    """Refusal of a button that only the person who asked may press."""
    return f"Only <@{requester}>, who asked, can {what} this run."


def retrying(subtasks: list[str], by: str) -> str:
    """The note that opens a Retry of failed subtasks."""
    return f":repeat: <@{by}> asked to retry {', '.join(subtasks)}; the first answer stays above."


def rerunning(by: str) -> str:
    """The note that opens a Re-run."""
    return f":repeat: <@{by}> asked to run this again from the start."


def following_up(by: str) -> str:
    """The note that opens a suggested follow-up's run (issue 23.3)."""
    return f":speech_balloon: <@{by}> asked a follow-up; the answer above is its context."


# Where an answer stops when its run is cancelled while the answer is being written (markdown:
# it ends the answer's text, above its footer).
STOPPED_HERE = "_Stopped here: the run was cancelled while this answer was being written._"

# "moved": this replica lost the run's lease (another replica may own it now): it stops
# without a word, since the thread is no longer this replica's to write to.
StopReason = Literal["cancelled_by_user", "restart", "moved"]

# A second press of Retry or Re-run on one message within moments (a double-click is two
# separate clicks to Slack): the first press acts, this one does nothing.
PRESSED_ALREADY = (
    "That button was pressed on this message a moment ago; one press is enough, "
    "so I did nothing this time."
)


def started_again_going(link: str) -> str:
    """Retry or Re-run refused: a run started from the same run is still going (`link`: to
    its thread, '' when it has none yet)."""
    which = f" ({link})" if link else ""
    return (
        f"A run started from this one is still going{which}; wait for it to end, "
        "or cancel it, before starting another."
    )


@dataclass(frozen=True)
class Stop:
    """Why a live run is being stopped, and by whom: what its thread will say."""

    reason: StopReason
    by: str | None = None

    @property
    def quiet(self) -> bool:
        """Whether the run must stop without writing anything (to Slack or the store)."""
        return self.reason == "moved"

    def phase(self) -> str:
        """The plan message's last line: short, the thread's note says the rest."""
        return "Paused for a restart." if self.reason == "restart" else "Cancelled."

    def note(self) -> str:
        """The sentence the run's thread gets."""
        if self.reason == "restart":
            return PAUSED
        who = f" by <@{self.by}>" if self.by else ""
        return f":black_square_for_stop: Cancelled{who}."


# Steering a live run from its thread (issue 22.2).
STEER_EMPTY = "Mention me with what the run should take into account, and I will steer it."
STEER_NOT_SAVED = (
    "I could not save that steer just now (the run store did not answer), so the run did "
    "not get it; please try again."
)


def steering_noted(user: str, text: str) -> str:
    """The thread note that a steer was taken: who steered, and what they asked for."""
    said = mrkdwn_line(text, 300)
    return (
        f":compass: Steering noted from <@{user}>: \u201c{said}\u201d. The subtasks that start "
        "from now and the answer will take it into account; finished ones are kept."
    )


# Effort and the deadline (issue 22.1, 22.4).
TWO_EFFORTS = "Choose one effort: `--quick` or `--deep`, not both."


def unknown_switch(word: str, known: list[str]) -> str:
    """A leading `--word` that is no switch Orchestra knows."""
    switches = ", ".join(f"`--{k}`" for k in known)
    return f"`--{word[:40]}` is not a switch I know. The switches are {switches}, before the goal."


def continuing(subtasks: list[str], by: str) -> str:
    """A Continue: the subtasks cut at the deadline (and their dependents) run now."""
    return (
        f"{who(by)} asked to continue: {', '.join(subtasks)} run now with a fresh deadline; "
        "the done subtasks are reused."
    )


NOTHING_CUT = "No subtask of that run was cut at the deadline, so there is nothing to continue."


# --- reports: the answer as a canvas, Download (.md) ------------------------------------------
# The thread's answer message once the answer outgrew it (ORCHESTRA_CANVAS_MIN_CHARS).
CANVAS_COMING = "_The answer continues in a canvas; its link follows here when it is written…_"
# How the canvas came to hold this answer: made for it, an earlier run's (Retry, Re-run,
# Continue) updated, or a new one because the earlier one could not be updated.
CanvasHow = Literal["new", "updated", "replaced"]


def canvas_link(link: str, label: str, how: CanvasHow) -> str:
    """Where the whole answer is (`label`: the canvas's title, safe for a link's label)."""
    where = f"<{link}|{label}>"
    match how:
        case "updated":
            return f":page_facing_up: The whole answer is in the canvas {where} (updated)."
        case "replaced":
            return (
                f":page_facing_up: The whole answer is in a new canvas {where} "
                "(the earlier one could not be updated)."
            )
        case _:
            return f":page_facing_up: The whole answer is in the canvas {where}."


DOWNLOAD_LABEL = "Download (.md)"
DOWNLOAD_COMMENT = "The report, with its sources, as a Markdown file."
DOWNLOAD_GONE = "That run's answer is no longer available (its text was removed after a while)."
DOWNLOAD_FAILED = "Slack would not take the file just now; please try Download again in a minute."


# Plan review (issue 22.3).
def review_waiting(requester: str, expires_at: float) -> str:
    """The plan message's line while the plan waits for its requester's approval."""
    stamp = int(expires_at)
    return (
        f":eyes: Waiting for <@{requester}> to approve this plan (or Edit it) before any"
        f" subagent runs; it expires <!date^{stamp}^{{date_short_pretty}} at {{time}}|at"
        f" {stamp} (Unix time)> if not approved."
    )


def review_expired(timeout_s: float) -> str:
    """The plan's end when nobody approved it in time."""
    return (
        f"This plan expired: nobody approved it within {_duration(timeout_s)}, so nothing was"
        " run. Ask again to get a new plan."
    )


def _duration(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        hours = int(seconds // 3600)
        return f"{hours} hour{'s' if hours != 1 else ''}"
    if seconds >= 60:
        return f"{round(seconds / 60)} minutes"
    return f"{round(seconds)} seconds"


REVIEW_NOT_WAITING = "That plan is not waiting for approval any more."
REVIEW_EDIT_EXPIRED = "That plan expired or was approved before your changes arrived."
REVIEW_DECIDED = "The plan was approved: it runs now."


def estimate_vs_actual(
    estimate_usd: float | None, estimate_s: float, took_usd: float | None, took_s: float | None
) -> str:
    """A history line's estimate beside what the run cost and took (issue 22.4);
    `took_s` None: not finished yet."""
    usd = "an unknown cost" if estimate_usd is None else f"${estimate_usd:.2f}"
    said = f"estimated {usd} and {_took(estimate_s)}"
    if took_s is None:
        return said
    cost = "an unknown cost" if took_usd is None else f"${took_usd:.2f}"
    return f"{said}; took {cost} and {_took(took_s)}"


def _took(seconds: float) -> str:
    """A run's time as a history line says it: seconds up to 90, then minutes."""
    return f"{round(seconds)} s" if seconds < 90 else f"{round(seconds / 60)} min"


# The clarifying question (issue 22.3).
def clarifying_question(requester: str, question: str, expires_at: float, dm: bool) -> str:
    """The thread's note when the orchestrator asks one question before it plans."""
    asked = mrkdwn_line(question, 500)
    stamp = int(expires_at)
    how = "Reply in this thread" if dm else "Mention me in this thread"
    return (
        f":question: <@{requester}>, one question before I plan: \u201c{asked}\u201d {how} with"
        f" your answer; I wait until <!date^{stamp}^{{date_short_pretty}} at {{time}}|{stamp}"
        " (Unix time)>, and nothing is spent meanwhile."
    )


def question_answered(user: str) -> str:
    """The thread's note when the requester answered the question."""
    return f":memo: Thanks <@{user}>: planning now with your answer."


def question_expired(timeout_s: float) -> str:
    """The run's end when the question was not answered in time."""
    return (
        f"Nobody answered my question within {_duration(timeout_s)}, so nothing was run."
        " Ask again with a little more detail."
    )


ANSWER_EMPTY = "Mention me with your answer to the question, and I will plan with it."
ANSWER_TOO_LATE = "That question is no longer open, so your answer was not used."
ANSWER_NOT_SAVED = (
    "I could not save your answer just now (the run store did not answer); please try again."
)


# Settings per workspace and channel (issue 24.4).
SETTINGS_ADMINS_ONLY = (
    "Only workspace admins and owners can change this channel's Orchestra settings here"
    " (an admin can let channel members do it, in the workspace defaults)."
)
SETTINGS_WORKSPACE_ADMINS_ONLY = (
    "Only workspace admins and owners can change the workspace defaults."
)
SETTINGS_UNCHECKED = (
    "I could not check who may change settings just now (Slack did not answer); try again"
    " in a moment."
)
SETTINGS_UNREADABLE = (
    "I could not read the settings just now (the run store did not answer); try again in a moment."
)
SETTINGS_NOT_OPENED = "I could not open the settings just now; type the command again."
SETTINGS_IN_COMMAND = "Settings open in a form: type `{command} settings` in the channel."
SETTINGS_UNCHANGED = "Nothing changed: the settings were already so."


def settings_changed(user: str, workspace: bool, changed: list[str]) -> str:
    """The channel's note when someone changed its settings or the workspace's defaults."""
    where = (
        "the workspace's Orchestra defaults" if workspace else "this channel's Orchestra settings"
    )
    listed = "; ".join(mrkdwn_line(change, 400) for change in changed)
    return f":gear: {who(user)} changed {where}: {listed}."


def settings_defaults_note(summary: str) -> str:
    """The modal's first line: what applies where a field is left empty."""
    return f"Empty fields take the wider default. {summary}"


# --- how a run ended, where the channel sees it (issue 23.4) -----------------------------
# A /research run's root message (the app's own) and every plan message's header say it, so
# a scan of the channel tells the story without opening threads.
Outcome = Literal["answered", "partial", "cut", "failed", "cancelled"]
OUTCOME_HEADS: dict[Outcome, str] = {
    "answered": ":white_check_mark: *Answered:*",
    "partial": ":white_check_mark: *Answered in part:*",
    "cut": ":alarm_clock: *Cut at the deadline:*",
    "failed": ":x: *Failed:*",
    "cancelled": ":black_square_for_stop: *Cancelled:*",
}


def root_outcome(outcome: Outcome, canvas: str = "") -> str:
    """The root message's last line once its run ended (`canvas`: a mrkdwn link to the
    canvas holding the answer, if one does)."""
    match outcome:
        case "answered":
            said = ":white_check_mark: Answered: the answer is in this thread."
        case "partial":
            said = (
                ":white_check_mark: Answered in part (some subtasks failed): "
                "the answer is in this thread."
            )
        case "cut":
            said = (
                ":alarm_clock: Cut at the deadline: the answer in this thread covers what was "
                "done, and Continue runs the rest."
            )
        case "failed":
            said = ":x: Failed: the thread says why."
        case "cancelled":
            said = ":black_square_for_stop: Cancelled before it finished."
    return f"{said} The whole report is in the canvas {canvas}." if canvas else said
