"""Fixtures of the e-mail tests: a real Dovecot, a real SMTP server, the adapter (see :mod:`mail_servers`)."""

from mail_servers import dovecot, email_adapter, mailbox, smtp_sink, tech

__all__ = ["dovecot", "email_adapter", "mailbox", "smtp_sink", "tech"]
