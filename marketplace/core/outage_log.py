"""Logging a failure that repeats for as long as an outage lasts (Redis down, the database away).

While it lasts, every request may fail the same way: a traceback each would bury the one that says why. An
``OutageLog`` per kind of failure logs the traceback at most once a minute per process, and one line in between.
"""

from __future__ import annotations

import logging
import sys
import time

#: While a failure repeats, each process logs its traceback at most this often.
TRACEBACK_EVERY_S = 60


class OutageLog:
    """One kind of failure: ``still`` says, on the lines between tracebacks, that the outage goes on ("the queue
    is still unreachable"); the exception follows it."""

    def __init__(self, still: str, every_s: float = TRACEBACK_EVERY_S):
        self.still = still
        self.every_s = every_s
        self.last_traceback = float("-inf")  # time.monotonic() of this process's last traceback

    def failed(self, logger: logging.Logger, message: str, *args) -> None:
        """Log, from the ``except`` block of the failure, ``message % args``: with the traceback the first time in
        ``every_s`` seconds, as one line after that."""
        now = time.monotonic()
        if now - self.last_traceback >= self.every_s:
            self.last_traceback = now
            logger.exception(message, *args)
        else:
            logger.warning(f"{message} ({self.still}: %s)", *args, sys.exc_info()[1])
