"""How ``serve`` and ``demo`` start and stop: one stop event, set by SIGINT or SIGTERM.

Both install the handlers on the running loop themselves, so a process started in
the background (where the shell makes it ignore SIGINT) still stops on Ctrl-C's
signal and on SIGTERM, and shuts the service down in order.
"""

from __future__ import annotations

import asyncio
import logging
import signal

log = logging.getLogger("tokenmeter.lifecycle")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def install_stop_signals(stop: asyncio.Event) -> None:
    """SIGINT and SIGTERM set ``stop`` (the loop then shuts the service down)."""
    loop = asyncio.get_running_loop()

    def on_signal(signum: signal.Signals) -> None:
        if stop.is_set():
            log.info("%s again: already stopping", signum.name)
            return
        log.info("%s received: stopping", signum.name)
        stop.set()

    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, on_signal, signum)


def stop_on_signals() -> asyncio.Event:
    """A new stop event that SIGINT and SIGTERM set."""
    stop = asyncio.Event()
    install_stop_signals(stop)
    return stop
