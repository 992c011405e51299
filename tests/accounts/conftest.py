"""Helpers for the account tests: the mail the platform sent, and the rows of one account."""

from __future__ import annotations

import email
import re
from email import policy
from pathlib import Path

import pytest

_RESET_LINK = re.compile(r"https?://[^\s/]+(/account/reset/[^\s]+)")


class Outbox:
    """Mail written by the embedded LogMailSender since the test began (one .eml file per message)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._seen = self._files()

    def _files(self) -> set[Path]:
        return set(self.folder.glob("*.eml")) if self.folder.is_dir() else set()

    def mark_read(self) -> None:
        """Forget the mail sent so far."""
        self._seen = self._files()

    def messages(self) -> list[email.message.EmailMessage]:
        new = sorted(self._files() - self._seen, key=lambda path: path.stat().st_mtime_ns)
        return [email.message_from_bytes(path.read_bytes(), policy=policy.default) for path in new]

    def only_message(self) -> email.message.EmailMessage:
        messages = self.messages()
        assert len(messages) == 1, f"expected one mail, found {len(messages)}"
        return messages[0]

    def reset_path(self) -> str:
        """The path of the reset link in the one mail sent, e.g. ``/account/reset/<token>``."""
        body = self.only_message().get_content()
        match = _RESET_LINK.search(body)
        assert match, f"no reset link in the mail:\n{body}"
        return match.group(1)


@pytest.fixture
def outbox(app):
    return Outbox(Path(app.instance_path) / "mail")
