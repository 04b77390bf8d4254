"""``reprocess``: run the pure steps again on stored mail, without any mail server."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from intake.cases.pipeline import Context, process_pending, reset_for_reprocess
from intake.errors import ConfigError
from store import repository as repo
from store.db import transaction
from store.models import RawMessage


def reprocess(ctx: Context, ids: list[str]) -> Counter[str]:
    """Reset the named messages (message numbers or case ids; none = all) and process them."""
    with transaction(ctx.factory) as s:
        if not ids:
            messages = list(s.scalars(select(RawMessage)))
        else:
            messages = []
            for ident in ids:
                if ident.isdigit():
                    msg = s.get(RawMessage, int(ident))
                    if msg is None:
                        raise ConfigError(f"no stored message {ident}")
                    messages.append(msg)
                else:
                    case = repo.get_case(s, ident)
                    if case is None:
                        raise ConfigError(f"no case {ident}")
                    messages.extend(case.messages)
        reset_for_reprocess(messages)
    return process_pending(ctx)
