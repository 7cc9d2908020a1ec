"""A notebook client that waits for each cell's reply in short polls of the shell channel.

nbclient waits for a cell's ``execute_reply`` with one ``get_msg`` on the shell channel that lasts up to the cell
timeout. ZeroMQ reports a readable socket by an edge, and traffic on the same socket can consume that edge; the wait
then sleeps past a reply that has already arrived, while the kernel sits idle (nbclient issue 312,
github.com/jupyter/nbclient/issues/312, cells that display ipywidgets). ``hepnb run`` met it on the widget cells of
notebooks 00, 03 and 04: the stall watch stopped the idle kernel after its timeout and ran the notebook again. Short
waits look at the socket afresh each time, so a reply that is there is read within :data:`SHELL_POLL_SECONDS`.
"""

from __future__ import annotations

import time
from queue import Empty
from typing import Any

from jupyter_core.utils import ensure_async, run_sync
from nbclient import NotebookClient

__all__ = ["SHELL_POLL_SECONDS", "PollingNotebookClient", "poll_in_short_waits"]

#: Longest single wait on the shell channel, in seconds.
SHELL_POLL_SECONDS = 1.0


def poll_in_short_waits(channel: Any, step: float = SHELL_POLL_SECONDS) -> Any:
    """Make ``channel.get_msg(timeout)`` wait in pieces of at most ``step`` seconds, with the same result.

    The message is returned as soon as one wait finds it; :class:`queue.Empty` is raised once ``timeout`` has passed
    without one (``timeout=None``: wait for ever), as the original does.

    Examples
    --------
    >>> import asyncio
    >>> class Late:  # a channel whose message is only found by the third wait
    ...     def __init__(self):
    ...         self.waits = []
    ...
    ...     async def get_msg(self, timeout=None):
    ...         self.waits.append(timeout)
    ...         if len(self.waits) < 3:
    ...             raise Empty
    ...         return {"msg_type": "execute_reply"}
    >>> channel = poll_in_short_waits(Late(), step=0.01)
    >>> asyncio.run(channel.get_msg(timeout=60))["msg_type"], channel.waits
    ('execute_reply', [0.01, 0.01, 0.01])
    """
    wait = channel.get_msg

    async def get_msg(timeout: float | None = None, **kwargs: Any) -> dict[str, Any]:
        deadline = None if timeout is None else time.monotonic() + float(timeout)
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            piece = step if left is None else min(step, left)
            try:
                return await ensure_async(wait(timeout=piece, **kwargs))
            except Empty:
                if left is not None and left <= step:
                    raise

    channel.get_msg = get_msg
    return channel


class PollingNotebookClient(NotebookClient):
    """:class:`nbclient.NotebookClient` whose kernel client reads the shell channel in short waits."""

    async def async_start_new_kernel_client(self) -> Any:
        """Start the kernel client as nbclient does, then :func:`poll_in_short_waits` its shell channel."""
        client = await super().async_start_new_kernel_client()
        poll_in_short_waits(client.shell_channel)
        return client

    # nbclient binds its synchronous twin to the base class's coroutine; without this, `setup_kernel` (the cell by
    # cell use of the client, as in benchmarks/notebook_claims.py) would read the shell channel in one long wait
    start_new_kernel_client = run_sync(async_start_new_kernel_client)
