"""Mail in: the desk's IMAP mailbox, read with IMAPClient.

One round (:meth:`MailboxReader.process_pending`) takes every mail waiting in ``mailbox``,
oldest first, and for each one:

0. (a ``NOOP`` first, so that the server reports the mail delivered since the last round;)
1. fetches it without marking it read (``BODY.PEEK[]``) and parses it;
2. applies it to the helpdesk (:class:`~adapters.email.intake.MailIntake`), which commits;
3. sends the core's direct answers, if any, as a reply to that mail;
4. only then moves it to ``processed_folder`` (or ``failed_folder`` for mail that was refused,
   could not be read, or raised an unexpected error) — with IMAP ``MOVE`` when the server has it,
   else ``COPY`` + ``\\Deleted`` + ``UID EXPUNGE``.

Several bot processes may point at one mailbox: only the holder of its reader lock
(:class:`~bot.db.locks.ProcessLock`, shared through the database) reads it; the others' rounds are
on standby, and one of them takes over at its next round once the holder stops or dies. A mail
another session has moved meanwhile (IMAP ``EXPUNGEISSUED``) is left to it.

A crash before step 4 leaves the mail in the mailbox: it is fetched again on restart and
recognised by its Message-ID, so it opens no second ticket. A database that does not answer
stops the round and leaves the remaining mail where it is, for the next round.

Between rounds the reader waits with IMAP ``IDLE`` when the server offers it (renewed every
``poll_seconds``), else polls every ``poll_seconds``. Connection errors are retried with backoff.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy.exc import DBAPIError

from bot.db.locks import ProcessLock

from .config import EmailConfig
from .intake import MailIntake, MailResult
from .parse import parse_mail

logger = logging.getLogger(__name__)


@dataclass
class RoundReport:
    """What one round did: mail counted by outcome."""

    outcomes: dict[str, int] = field(default_factory=dict)
    results: list[MailResult] = field(default_factory=list)
    standby: bool = False
    """Another process holds the mailbox's reader lock: this round read nothing."""

    def add(self, result: MailResult) -> None:
        """Count one processed mail."""
        self.outcomes[result.outcome] = self.outcomes.get(result.outcome, 0) + 1
        self.results.append(result)


ReplySender = Callable[[bytes, MailResult], None]
"""Sends the core's direct answers for one mail (given the raw mail and the result)."""


class MailboxReader:
    """Reads the desk's mailbox, one connection, in one thread."""

    def __init__(
        self, config: EmailConfig, intake: MailIntake, send_replies: ReplySender, lock: ProcessLock | None = None
    ) -> None:
        self._config = config
        self._lock = lock
        self._intake = intake
        self._send_replies = send_replies
        self._client: IMAPClient | None = None
        self._folders: dict[str, str] = {}
        self.on_round: Callable[[RoundReport], None] | None = None
        self.on_failure: Callable[[Exception], None] | None = None
        self._idle = False
        self.reachable: bool | None = None
        """Whether the last round reached the mailbox (``None`` before the first one): ``/readyz``."""
        """Called after every round (tests wait on it instead of sleeping)."""

    # -- connection -------------------------------------------------------------------------

    def connect(self) -> IMAPClient:
        """Log in, create the processed and failed folders when missing, select the mailbox."""
        if self._client is not None:
            return self._client
        config = self._config
        context = ssl.create_default_context()
        client = IMAPClient(
            config.imap_host,
            port=config.imap_port,
            ssl=config.imap_security == "ssl",
            ssl_context=context if config.imap_security == "ssl" else None,
            timeout=config.timeout_seconds,
        )
        try:
            if config.imap_security == "starttls":
                client.starttls(context)
            client.login(config.imap_user, config.imap_password_value)
            delimiter = self._delimiter(client)
            for key, name in (("processed", config.processed_folder), ("failed", config.failed_folder)):
                folder = name.replace("/", delimiter)
                if not client.folder_exists(folder):
                    _create_folder(client, folder)
                self._folders[key] = folder
            client.select_folder(config.mailbox)
        except Exception:
            _quietly(client.logout)
            raise
        # Read once per connection: asking again while the reader idles would send a command mid-IDLE.
        self._idle = bool(client.has_capability("IDLE"))
        self._client = client
        return client

    @staticmethod
    def _delimiter(client: IMAPClient) -> str:
        folders = client.list_folders(directory="", pattern="")
        if folders and folders[0][1]:
            raw = folders[0][1]
            return raw.decode() if isinstance(raw, bytes) else str(raw)
        return "/"

    def close(self) -> None:
        """Log out and let another process read the mailbox (idempotent)."""
        client, self._client = self._client, None
        if client is not None:
            _quietly(client.logout)
        if self._lock is not None:
            self._lock.release()

    @property
    def supports_idle(self) -> bool:
        """Whether the server offers IMAP IDLE."""
        return self._client is not None and self._idle

    # -- one round --------------------------------------------------------------------------

    def process_pending(self) -> RoundReport:
        """Process every mail waiting in the mailbox (see the module documentation)."""
        client = self.connect()
        report = RoundReport()
        if not self._holds_the_mailbox():
            report.standby = True
            if self.on_round is not None:
                self.on_round(report)
            return report
        # Some servers (Dovecot among them) report mail delivered since the last command only on a
        # command that synchronises the mailbox: without a NOOP, SEARCH answers from the old view.
        client.noop()
        uids = sorted(client.search(["NOT", "DELETED"]))
        for uid in uids:
            if not self._holds_the_mailbox():
                logger.warning("the reader lock of %s was lost: the round stops", self._config.mailbox)
                break
            try:
                fetched = client.fetch([uid], ["BODY.PEEK[]"])
            except IMAPClientError as error:
                if not _taken_by_another_reader(error):
                    raise
                logger.info("mail uid %s was moved by another reader before it was fetched", uid)
                continue
            raw = fetched.get(uid, {}).get(b"BODY[]")
            if not isinstance(raw, bytes):
                continue
            try:
                result = self._intake.process(parse_mail(raw))
            except DBAPIError:
                logger.exception("database unavailable while processing mail uid %s: left in the mailbox", uid)
                break
            except Exception:
                logger.exception("mail uid %s could not be processed: moved to the failed folder", uid)
                self._move(client, uid, "failed")
                report.add(MailResult("refused", folder="failed"))
                continue
            if result.replies:
                try:
                    self._send_replies(raw, result)
                except Exception:
                    logger.exception("could not send the answer to mail uid %s (the change is saved)", uid)
            self._move(client, uid, result.folder)
            report.add(result)
        if self.on_round is not None:
            self.on_round(report)
        return report

    def _holds_the_mailbox(self) -> bool:
        """Whether this process is the mailbox's one reader (taking the lock when it is free)."""
        if self._lock is None:
            return True
        try:
            return self._lock.try_acquire()
        except DBAPIError:
            logger.warning("cannot take the reader lock of %s: the database does not answer", self._config.mailbox)
            return False

    def _move(self, client: IMAPClient, uid: int, folder_key: str) -> None:
        """Move one mail out of the mailbox; a mail another reader has moved already is left to it."""
        folder = self._folders[folder_key]
        try:
            self._move_to(client, uid, folder)
        except IMAPClientError as error:
            if not _taken_by_another_reader(error):
                raise
            logger.info("mail uid %s was already moved out of the mailbox by another reader", uid)

    @staticmethod
    def _move_to(client: IMAPClient, uid: int, folder: str) -> None:
        if client.has_capability("MOVE"):
            client.move([uid], folder)
            return
        client.copy([uid], folder)
        client.delete_messages([uid])
        if client.has_capability("UIDPLUS"):
            client.uid_expunge([uid])
        else:
            client.expunge()

    # -- the loop ---------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Process rounds until ``stop`` is set: IDLE between rounds when offered, else poll."""
        backoff = 1.0
        while not stop.is_set():
            try:
                self.process_pending()
                self.reachable = True
                backoff = 1.0
                self._wait(stop)
            except Exception as error:
                self.reachable = False
                if self.on_failure is not None:
                    self.on_failure(error)
                logger.exception(
                    "mailbox %s@%s failed; reconnecting in %.0f s",
                    self._config.imap_user,
                    self._config.imap_host,
                    backoff,
                )
                self.close()
                stop.wait(backoff)
                backoff = min(backoff * 2, 300.0)
        self.close()

    def _wait(self, stop: threading.Event) -> None:
        client = self._client
        if client is None or not self.supports_idle:
            stop.wait(self._config.poll_seconds)
            return
        client.idle()
        try:
            waited = 0.0
            step = min(1.0, self._config.poll_seconds)
            while not stop.is_set() and waited < self._config.poll_seconds:
                responses: list[Any] = client.idle_check(timeout=step)
                if any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                    break
                waited += step
        finally:
            client.idle_done()


def _taken_by_another_reader(error: IMAPClientError) -> bool:
    """Whether the server refused a command because the mail was expunged by another session.

    Another process reading the same mailbox moved it in the meantime: RFC 5530's ``EXPUNGEISSUED``
    response code (Dovecot, Cyrus), or the plain wording of servers without response codes.
    """
    text = str(error).lower()
    return "expungeissued" in text or "no longer exist" in text


def _create_folder(client: IMAPClient, folder: str) -> None:
    """Create ``folder``, unless another bot process starting at the same moment just did."""
    try:
        client.create_folder(folder)
    except IMAPClientError:
        if not client.folder_exists(folder):
            raise


def _quietly(action: Callable[[], object]) -> None:
    try:
        action()
    except Exception:  # logging out of a broken connection: nothing left to do
        logger.debug("IMAP logout failed", exc_info=True)
