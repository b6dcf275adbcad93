"""Real mail servers for the e-mail adapter's tests (fixtures re-exported by ``conftest.py``).

* :func:`dovecot` — a real IMAP server, Dovecot from Debian's ``dovecot-imapd`` package, started as a
  non-daemon child process (``dovecot -F``) on a free loopback port with a throw-away configuration,
  mail directory and password. Run as root (CI), the mail processes use the package's unprivileged
  ``dovecot``/``dovenull`` users; run as another user, everything runs as that user.
* :func:`mailbox` — a fresh IMAP user of that server for one test, with a plain :mod:`imaplib` client
  to append mail to it (as the desk's mail server would deliver it) and look into its folders.
* :func:`smtp_sink` — a real SMTP server (aiosmtpd) on loopback that keeps every mail the bot sends.

Without Dovecot installed the tests are skipped, except under CI (``CI=true``), where they fail: .ci/run
installs it.
"""

from __future__ import annotations

import email
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from adapters.console.chat import ConsoleChat
from adapters.email import EmailConfig, build_email_adapter
from adapters.email.adapter import EmailAdapter
from bot.bootstrap import HelpdeskApp
from bot.db.models import OutboxEntry, Ticket
from bot.port import User

DOVECOT_CANDIDATES = ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot")
DESK = "servicedesk@province.example"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _dovecot_binary() -> str:
    found = shutil.which("dovecot") or next((p for p in DOVECOT_CANDIDATES if os.path.exists(p)), None)
    if found is None:
        message = "Dovecot is not installed (apt-get install dovecot-imapd; .ci/run does it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@dataclass
class Dovecot:
    """A running Dovecot: every user name logs in with :attr:`password` and gets an empty mailbox."""

    port: int
    password: str
    root: Path


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """One Dovecot for the whole test session, on a free loopback port."""
    binary = _dovecot_binary()
    root = Path(tempfile.mkdtemp(prefix="hd-dovecot-"))
    root.chmod(0o755)
    (root / "mail").mkdir()
    (root / "run").mkdir()
    password = uuid.uuid4().hex
    if os.geteuid() == 0:
        internal = pwd.getpwnam("dovecot")
        login_user, internal_user = "dovenull", "dovecot"
        uid, gid = internal.pw_uid, internal.pw_gid
        os.chown(root / "mail", uid, gid)
    else:
        me = pwd.getpwuid(os.geteuid())
        login_user = internal_user = me.pw_name
        uid, gid = me.pw_uid, me.pw_gid
    port = _free_port()
    config = root / "dovecot.conf"
    config.write_text(
        f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/run/state
instance_name = hd-dovecot-{port}
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
default_internal_user = {internal_user}
default_login_user = {login_user}
first_valid_uid = {min(uid, 1) if uid else 0}
mail_uid = {uid}
mail_gid = {gid}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
""",
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [binary, "-F", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                if probe.recv(64).startswith(b"* OK"):
                    break
        except OSError:
            pass
        try:
            code = process.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            code = None
        if code is not None or time.monotonic() > deadline:
            log = (root / "dovecot.log").read_text(errors="replace") if (root / "dovecot.log").exists() else ""
            process.kill()
            pytest.fail(f"Dovecot did not start (exit {code}): {log[-2000:]}")
    try:
        yield Dovecot(port, password, root)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Mailbox:
    """One IMAP user of the test Dovecot, and a plain IMAP client to look into it."""

    server: Dovecot
    user: str
    password: str

    def _client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.server.port, timeout=10)
        client.login(self.user, self.password)
        return client

    def deliver(self, mail: EmailMessage | bytes, folder: str = "INBOX") -> None:
        """Put a mail in a folder, as the desk's mail server would deliver it."""
        raw = mail if isinstance(mail, bytes) else mail.as_bytes()
        client = self._client()
        try:
            status, _ = client.append(folder, None, None, raw)
            assert status == "OK"
        finally:
            client.logout()

    def message_ids(self, folder: str) -> list[str]:
        """The Message-IDs of the mail in ``folder`` (empty when the folder does not exist)."""
        client = self._client()
        try:
            status, _ = client.select(f'"{folder}"', readonly=True)
            if status != "OK":
                return []
            _, data = client.uid("SEARCH", "ALL")
            ids = []
            for uid in data[0].split():
                _, fetched = client.uid("FETCH", uid, "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
                header = fetched[0][1] if fetched and isinstance(fetched[0], tuple) else b""
                ids.append(header.decode().partition(":")[2].strip().strip("<>"))
            return ids
        finally:
            client.logout()


@pytest.fixture
def mailbox(dovecot: Dovecot) -> Mailbox:
    """A fresh, empty mailbox for the desk (one IMAP user per test)."""
    return Mailbox(dovecot, f"desk-{uuid.uuid4().hex[:10]}", dovecot.password)


@dataclass
class SmtpSink:
    """A real SMTP server (aiosmtpd) keeping every mail it receives; can refuse some recipients."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        """Refuse the addresses in :attr:`refuse` with a permanent 550."""
        if address.lower() in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Keep the mail."""
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._arrived:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self._arrived.notify_all()
        return "250 Message accepted"

    def wait_for(self, count: int, timeout: float = 10) -> list[EmailMessage]:
        """Block until ``count`` mails arrived in all (the bot sends synchronously: this rarely waits)."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.messages) >= count, timeout=timeout)
            assert len(self.messages) >= count, f"expected {count} mail(s), got {len(self.messages)}"
            return list(self.messages)


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A local SMTP server on a free loopback port."""
    port = _free_port()
    sink = SmtpSink(port)
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


def email_config(mailbox: Mailbox, smtp: SmtpSink, **overrides: Any) -> EmailConfig:
    """The ``[email]`` section pointing at the test servers."""
    values: dict[str, Any] = {
        "enabled": True,
        "imap_host": "127.0.0.1",
        "imap_port": mailbox.server.port,
        "imap_security": "none",
        "imap_user": mailbox.user,
        "imap_password": mailbox.password,
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "smtp_security": "none",
        "from_address": DESK,
        "poll_seconds": 5,
        **overrides,
    }
    return EmailConfig(**values)


@pytest.fixture
def email_adapter(app: HelpdeskApp, mailbox: Mailbox, smtp_sink: SmtpSink) -> Iterator[EmailAdapter]:
    """The e-mail adapter of the application under test, on the test servers (not started)."""
    adapter = build_email_adapter(app, email_config(mailbox, smtp_sink))
    try:
        yield adapter
    finally:
        adapter.stop()


BOB = User("console", "bob", "Bob Tech", "en")


@pytest.fixture
def tech(app: HelpdeskApp) -> ConsoleChat:
    """Bob, a technician at his terminal (he sees the triage chat)."""
    return ConsoleChat(app, BOB, technician=True)


def make_mail(
    subject: str,
    body: str,
    *,
    sender: str = "Jean Dupont <jean.dupont@commune.example>",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
    html: str | None = None,
) -> EmailMessage:
    """A mail as a person's mail client writes it."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = DESK
    mail["Subject"] = subject
    mail["Message-ID"] = f"<{message_id or uuid.uuid4().hex + '@commune.example'}>"
    mail.set_content(body)
    if html is not None:
        mail.add_alternative(html, subtype="html")
    for name, value in (headers or {}).items():
        mail[name] = value
    return mail


WORKER = Path(__file__).resolve().parent / "mail_process.py"


def mail_worker(
    db_url: str, mailbox: Mailbox, smtp: SmtpSink, kill_at: str = "none", *, until_empty: bool = False
) -> subprocess.Popen[str]:
    """A ``mail_process.py`` bot process reading ``mailbox`` (see that module for ``kill_at``).

    ``until_empty``: it prints ``ready`` once connected, starts reading on a line written to its stdin,
    and runs the reader's own loop until the mailbox is empty (its stderr is piped too).
    """
    arguments = [db_url, str(mailbox.server.port), mailbox.user, mailbox.password, str(smtp.port), kill_at]
    return subprocess.Popen(
        [sys.executable, str(WORKER), *arguments, *(["until-empty"] if until_empty else [])],
        stdin=subprocess.PIPE if until_empty else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if until_empty else None,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )


def assert_each_mail_is_one_ticket(app: HelpdeskApp, mailbox: Mailbox, subjects: list[str]) -> None:
    """Every subject is one ticket with one acknowledgement; the inbox is empty and each mail is in the
    processed folder once."""
    with app.uow() as uow:
        titles = list(uow.session.scalars(select(Ticket.title)))
        confirmations = uow.session.scalar(
            select(func.count()).select_from(OutboxEntry).where(OutboxEntry.purpose == "confirmation")
        )
    assert sorted(titles) == sorted(subjects)  # none lost, none twice
    assert confirmations == len(subjects)  # one acknowledgement each
    assert mailbox.message_ids("INBOX") == []
    processed = mailbox.message_ids("Helpdesk.Processed")
    assert sorted(processed) == sorted(set(processed)) and len(processed) == len(subjects)  # moved once each
