"""The agent's side of the history's identity: when what a server says means it lacks
lines it acknowledged (and then only), everything is read again, once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccsync.agent.identity import ServerView, last_resync, observe
from ccsync.agent.state import AgentState
from ccsync.agent.transport import HttpSink, Identity, Numbering, push_body
from fixtures.server import RunningServer


@pytest.fixture
def state(tmp_path: Path) -> Iterator[AgentState]:
    store = AgentState(tmp_path / "agent.db")
    yield store
    store.close()


def acked(state: AgentState, up_to: int) -> None:
    """As if the outbox held lines up to ``up_to`` and a server acknowledged them."""
    state.acknowledge(list(range(1, up_to + 1)))


def test_the_first_history_seen_is_taken_as_it_is(state: AgentState) -> None:
    assert observe(state, ServerView("h1", 0), 0) is None
    assert state.resync_pending() is None


def test_another_history_means_reading_everything_again_once(state: AgentState) -> None:
    observe(state, ServerView("h1", 0), 0)
    acked(state, 40)
    reason = observe(state, ServerView("h2", 0), 40)
    assert reason is not None and "history changed" in reason
    assert state.resync_pending() == reason
    assert state.acked() == 0  # what the new history confirmed
    assert observe(state, ServerView("h2", 0), 0) is None  # no loop
    assert last_resync(state) is not None


def test_a_mark_below_what_was_acknowledged_means_lost_lines(state: AgentState) -> None:
    observe(state, ServerView("h1", 0), 0)
    acked(state, 40)
    assert observe(state, ServerView("h1", 40), 40) is None
    reason = observe(state, ServerView("h1", 25), 40)  # restored from an older backup
    assert reason is not None and "#25" in reason
    assert state.acked() == 25
    assert observe(state, ServerView("h1", 25), 25) is None


def test_acknowledgements_newer_than_the_answer_are_no_loss(state: AgentState) -> None:
    """The answer left the server before later pushes were acknowledged."""
    observe(state, ServerView("h1", 0), 0)
    acked(state, 40)
    assert observe(state, ServerView("h1", 30), 30) is None
    assert state.resync_pending() is None


def test_an_older_server_tells_nothing() -> None:
    assert ServerView.from_message({"type": "welcome", "deviceId": "d"}) is None
    assert ServerView.from_message({"historyId": "h", "mark": True}) == ServerView("h", None)
    assert ServerView.from_message({"historyId": "h", "mark": -3}) == ServerView("h", None)
    assert ServerView.from_message({"historyId": "h", "mark": 5}) == ServerView("h", 5)


def test_pushes_are_numbered_only_for_servers_that_tell() -> None:
    identity = Identity("d", "a", "host")
    plain = json.loads(push_body(['{"x":1}'], identity))
    assert "stream" not in plain and "seq" not in plain  # an older server refuses them
    numbered = json.loads(push_body(['{"x":1}'], identity, Numbering("s", 9, 4)))
    assert (numbered["stream"], numbered["seq"], numbered["acked"]) == ("s", 9, 4)


async def test_a_server_without_the_mark_is_an_older_one(server: RunningServer) -> None:
    identity = Identity("d", "a", "host")
    newer = HttpSink(server.url, None, identity)
    older = HttpSink(server.url + "/before-0.2", None, identity)  # answers 404 there
    try:
        told = await newer.mark("s")
        assert told is not None
        assert ServerView.from_message(told) == ServerView(
            await server.services.history.entries.history_id(), 0
        )
        assert await older.mark("s") is None
    finally:
        await newer.aclose()
        await older.aclose()
