"""helpdesk-bot: the platform-neutral core of a chat-ops helpdesk bot for IT service desks.

Staff write to the bot in Slack, Telegram or a terminal; the core offers a fix from the
knowledge base, otherwise runs a structured intake and opens a ticket, then keeps the
requester informed in the ticket's own thread while technicians work the ticket.
"""

__version__ = "0.1.0"
