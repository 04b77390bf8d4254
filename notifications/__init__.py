"""Mail we send: the outbox and its drainer, receipts, reminders, and the rules that keep them polite.

``policy`` (pure: who may get mail), ``render`` (Jinja2 templates from
``config/templates`` and the MIME message), ``outbox`` (rows, dedupe, rate
limit), ``receipts`` and ``reminders`` (what goes when), ``smtp`` (SMTP and
file senders), ``drain`` (sending due rows with retries). Never imports the
worker (``intake``): it is handed plain values.
"""
