"""Outgoing SMS through a pluggable sender, like ``core.mail``. The embedded default writes each message to
the log and to ``instance/sms/`` (one .txt file per message), so order notices work with no SMS gateway.

A gateway sender (Aliyun, Tencent Cloud…) subclasses ``SmsSender``, is added to ``SENDERS`` under a string
id, and is chosen with ``MARKETPLACE_SMS_SENDER``.
"""

from __future__ import annotations

import logging
import secrets
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from marketplace.core.db import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sms:
    #: A mainland mobile number, 11 digits.
    to: str
    text: str


class SmsSender(ABC):
    """Delivers ``Sms``. Senders are chosen by ``MARKETPLACE_SMS_SENDER``."""

    @abstractmethod
    def send(self, sms: Sms) -> None:
        """Deliver one message or raise."""


class LogSmsSender(SmsSender):
    """Writes each message to the log and to ``<folder>/<time>-<random>.txt``: ``To:`` line, blank line, text."""

    def __init__(self, folder: Path):
        self.folder = folder

    def send(self, sms: Sms) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        # Time first so a listing sorts in sending order; the random part keeps two in one microsecond apart.
        name = f"{utcnow():%Y%m%dT%H%M%S%f}-{secrets.token_hex(4)}.txt"
        (self.folder / name).write_text(f"To: {sms.to}\n\n{sms.text}\n", encoding="utf-8")
        log.info("sms to %s: %s", sms.to, sms.text)


SENDERS = {"log": lambda app: LogSmsSender(Path(app.instance_path) / "sms")}


def send_sms(mobile: str, text: str) -> None:
    """Send ``text`` to ``mobile`` with the configured sender; raises what the sender raises."""
    app = current_app._get_current_object()
    sender = app.extensions.get("sms_sender")
    if sender is None:
        sender = app.extensions["sms_sender"] = SENDERS[app.config["MARKETPLACE"]["SMS_SENDER"]](app)
    sender.send(Sms(to=mobile, text=text))
