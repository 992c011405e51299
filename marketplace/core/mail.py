"""Outgoing mail through a pluggable sender. The embedded default writes each message to the log and
to ``instance/mail/`` (one .eml file per message), so password resets work with no mail server."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from flask import current_app

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


class MailSender(ABC):
    """Delivers ``Mail``. Senders are chosen by ``MARKETPLACE_MAIL_SENDER``."""

    @abstractmethod
    def send(self, mail: Mail, sender: str) -> None:
        """Deliver one message or raise."""


class LogMailSender(MailSender):
    def __init__(self, folder: Path):
        self.folder = folder

    def send(self, mail: Mail, sender: str) -> None:
        message = EmailMessage()
        message["From"] = sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Message-ID"] = make_msgid(domain="shangdu.example")
        message.set_content(mail.body)
        self.folder.mkdir(parents=True, exist_ok=True)
        name = message["Message-ID"].strip("<>").replace("@", "_")
        (self.folder / f"{name}.eml").write_bytes(bytes(message))
        log.info("mail to %s: %s\n%s", mail.to, mail.subject, mail.body)


SENDERS = {"log": lambda app: LogMailSender(Path(app.instance_path) / "mail")}


def send_mail(to: str, subject: str, body: str) -> None:
    app = current_app._get_current_object()
    sender = app.extensions.get("mail_sender")
    if sender is None:
        sender = app.extensions["mail_sender"] = SENDERS[app.config["MARKETPLACE"]["MAIL_SENDER"]](app)
    sender.send(Mail(to=to, subject=subject, body=body), app.config["MARKETPLACE"]["MAIL_FROM"])
