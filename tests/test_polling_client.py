"""The notebook runner reads cell replies in short waits (hepnb._polling_client; a reply that arrived while a long
wait slept through it is read at the next short wait instead of stalling the run)."""

from __future__ import annotations

import asyncio
import time
from queue import Empty

import pytest

from hepnb import report
from hepnb._polling_client import PollingNotebookClient, poll_in_short_waits


class Channel:
    """A shell channel whose message is there from the ``ready``-th wait on (None: never)."""

    def __init__(self, ready: int | None) -> None:
        self.ready, self.waits = ready, []

    async def get_msg(self, timeout: float | None = None) -> dict:
        self.waits.append(timeout)
        if self.ready is None or len(self.waits) < self.ready:
            await asyncio.sleep(timeout or 0.0)
            raise Empty
        return {"parent_header": {"msg_id": "cell"}}


def test_a_waiting_reply_is_read_at_the_next_short_wait() -> None:
    channel = poll_in_short_waits(Channel(ready=4), step=0.01)
    start = time.monotonic()
    assert asyncio.run(channel.get_msg(timeout=3600))["parent_header"]["msg_id"] == "cell"
    assert time.monotonic() - start < 1.0  # read within a few short waits, not after the cell timeout
    assert channel.waits == [0.01] * 4
    forever = poll_in_short_waits(Channel(ready=3), step=0.01)  # timeout None: waits for ever, in short pieces
    asyncio.run(forever.get_msg())
    assert forever.waits == [0.01] * 3


def test_no_reply_still_times_out_at_the_deadline() -> None:
    channel = poll_in_short_waits(Channel(ready=None), step=0.02)
    start = time.monotonic()
    with pytest.raises(Empty):
        asyncio.run(channel.get_msg(timeout=0.1))
    elapsed = time.monotonic() - start
    assert 0.09 < elapsed < 1.0
    assert all(w <= 0.02 + 1e-12 for w in channel.waits) and 4 <= len(channel.waits) <= 7


def test_the_runner_executes_a_widget_cell_with_the_short_waits() -> None:
    import nbformat

    assert report.PollingNotebookClient is PollingNotebookClient  # the client hepnb run executes notebooks with
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("import ipywidgets\nipywidgets.IntSlider(value=3)"),
            nbformat.v4.new_code_cell("1 + 1"),
        ]
    )
    seen = []

    def executed(cell, cell_index, execute_reply) -> None:
        seen.append(client.kc.shell_channel.get_msg.__qualname__)

    client = PollingNotebookClient(notebook, timeout=120, kernel_name="python3", store_widget_state=True,
                                   on_cell_executed=executed)  # fmt: skip
    client.execute()
    assert seen == ["poll_in_short_waits.<locals>.get_msg"] * 2
    assert notebook.cells[1].outputs[0]["data"]["text/plain"] == "2"
    widget = notebook.cells[0].outputs[0]["data"]
    assert "application/vnd.jupyter.widget-view+json" in widget


def test_cell_by_cell_execution_in_setup_kernel_uses_the_short_waits_too() -> None:
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 2")])
    client = PollingNotebookClient(notebook, timeout=120, kernel_name="python3")
    with client.setup_kernel():  # the synchronous path: nbclient's own start_new_kernel_client skips the override
        assert client.kc.shell_channel.get_msg.__qualname__ == "poll_in_short_waits.<locals>.get_msg"
        client.execute_cell(notebook.cells[0], 0)
    assert notebook.cells[0].outputs[0]["data"]["text/plain"] == "3"
