"""How ``km-actions serve`` stops on Ctrl-C or SIGTERM: cleanly, whatever the transport.

launchd, systemd and ``kill`` stop a server with SIGTERM, a terminal with Ctrl-C. Both
end the serving (stdio: it is cancelled; HTTP: uvicorn shuts down gracefully, and a
second signal forces it), then the server's cleanup runs: the store closed, the
upstream disconnected, the built-in simulator's state saved.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import anyio


class Stop:
    """What a stop signal does; :meth:`signals` routes SIGINT and SIGTERM to it.

    ``scope`` is cancelled unless a transport set ``graceful``, its own way to stop.
    """

    def __init__(self) -> None:
        self.scope = anyio.CancelScope()
        self.graceful: Callable[[], None] | None = None

    def __call__(self) -> None:
        if self.graceful is not None:
            self.graceful()
        else:
            self.scope.cancel()

    @contextmanager
    def signals(self) -> Iterator[None]:
        """While inside, SIGINT and SIGTERM call this (on the main thread only: elsewhere
        the signals keep their handlers)."""
        loop = asyncio.get_running_loop()
        handled = []
        for number in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(number, self)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
                continue
            handled.append(number)
        try:
            yield
        finally:
            for number in handled:
                loop.remove_signal_handler(number)
