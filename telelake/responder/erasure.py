"""``/forgetme``: a person erases themselves, with the same erasure as ``telelake forget``.

Two steps in a private chat with the bot, so nobody erases by accident: the
bot explains and answers with a code, and ``/forgetme CODE`` within ten
minutes erases. The code is an HMAC of the person's id and a ten-minute
window under a key derived from the bot token: nothing is stored between the
two steps, so a restart (or another Lambda container) in between changes
nothing, and a code is worth nothing for anyone else's id.

The erasure itself is :func:`telelake.privacy.forget_user` on the lake's
layers (both layers, every date rebuilt, the audit record written, exactly
as the command line does), then the responder's own records lose the
person's tag. The request and its confirmation are updates of their
private chat with the bot, stored before the responder saw them, so they
are erased with the rest.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

from telelake.etl.layers import Layers

log = logging.getLogger("telelake.responder")

WINDOW_SECONDS = 600


def _code(secret: bytes, user_id: int, window: int) -> str:
    digest = hmac.new(secret, f"forgetme:{user_id}:{window}".encode(), hashlib.sha256).digest()
    return digest.hex()[:8].upper()


def code_for(secret: bytes, user_id: int, now: float) -> str:
    """The confirmation code a person gets now."""
    return _code(secret, user_id, int(now // WINDOW_SECONDS))


def code_matches(secret: bytes, user_id: int, given: str, now: float) -> bool:
    """Whether ``given`` is this person's code of this window or the one before (10-20 min)."""
    window = int(now // WINDOW_SECONDS)
    wanted = given.strip().upper().encode()
    return any(
        hmac.compare_digest(_code(secret, user_id, w).encode(), wanted)
        for w in (window, window - 1)
    )


@dataclass(frozen=True)
class Erased:
    """What the erasure did, in counts (what the bot tells the person)."""

    deleted: int
    rewritten: int
    days: int
    rebuilt: int


def erase(
    layers: Layers,
    user_id: int,
    lock: threading.Lock | None = None,
    clock: Callable[[], float] = time.time,
) -> Erased:
    """Erase ``user_id`` from both layers; ``lock`` keeps the daily ETL from building meanwhile.

    An ETL build that listed a date before the erasure and wrote it after
    would bring the person back into the enriched layer; holding the build
    lock of ``telelake run`` makes the two take turns.
    """
    from telelake.privacy import forget_user

    with lock if lock is not None else nullcontext():
        erasure = forget_user(layers, user_id, clock=clock)
    rebuilt = len(erasure.rebuilt.partitions) if erasure.rebuilt is not None else 0
    log.info(
        "/forgetme: %d update(s) deleted, %d rewritten over %d date(s); record %s",
        sum(erasure.deleted.values()),
        sum(erasure.rewritten.values()),
        len(erasure.dates),
        erasure.audit_key,
    )
    return Erased(
        deleted=sum(erasure.deleted.values()),
        rewritten=sum(erasure.rewritten.values()),
        days=len(erasure.dates),
        rebuilt=rebuilt,
    )


def explain(code: str) -> str:
    return (
        "This erases, from this bot's data lake, everything it holds about you: the messages "
        "you sent in the groups it collects, your reactions, your joins and leaves, this "
        "chat; messages of others that quote or forward yours keep only what others wrote. "
        "It cannot be undone. A record that an erasure happened is kept, without your id in "
        f"clear.\nTo confirm, within 10 minutes send:\n/forgetme {code}"
    )


WRONG_CODE = "That code is wrong or has expired: send /forgetme for a new one."
NOT_ALLOWED = (
    "This bot's operator has not enabled /forgetme. Ask them to erase you: they can run "
    "`telelake forget --user-id {user_id}`."
)
ONLY_PRIVATE = "Send /forgetme to me in a private chat, not in the group."
STARTED = "Erasing everything I hold about you; I will confirm here when it is done."


def done(erased: Erased) -> str:
    return (
        f"Done: {erased.deleted} update(s) of yours deleted and {erased.rewritten} that "
        f"mentioned you rewritten, over {erased.days} day(s); {erased.rebuilt} day(s) of the "
        "lake rebuilt. Messages you send from now on are collected again."
    )


FAILED = (
    "The erasure did not finish because of an error on the bot's side; nothing was lost "
    "and nothing is half-done for good: send /forgetme again later, or ask the operator."
)
