"""Idempotency keys on redeem and adjust: the same key replays the first answer, the same key
with another body is refused (422), and a second request while the first runs is 409.

The key is claimed in a transaction of its own, committed before the work starts, so a
concurrent request with the same key finds the claim (the unique constraint decides who
claimed it first)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from guanxi.core.errors import Conflict, GuanxiError, ValidationFailed

from ..choices import IdempotencyState
from ..models import IdempotentRequest

MAX_KEY = 200


def body_hash(scope: str, body) -> str:
    raw = json.dumps([scope, body], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


def idempotent(*, user, key: str | None, scope: str, body, run: Callable[[], tuple[int, dict]]):
    """(status, body): `run()`'s answer, or the one stored under this key."""
    if not key:
        return _answer(run)
    if len(key) > MAX_KEY:
        raise ValidationFailed(errors={"Idempotency-Key": [_("At most 200 characters.")]})
    digest = body_hash(scope, body)
    try:
        with transaction.atomic():
            claim = IdempotentRequest.objects.create(
                user=user, key=key, scope=scope, body_hash=digest, state=IdempotencyState.RUNNING
            )
    except IntegrityError:
        stored = IdempotentRequest.objects.get(user=user, key=key)
        if stored.scope != scope or stored.body_hash != digest:
            raise ValidationFailed(errors={"Idempotency-Key": [
                _("This key was used with a different request.")]}) from None  # fmt: skip
        if stored.state == IdempotencyState.RUNNING:
            raise Conflict(errors={"Idempotency-Key": [
                _("A request with this key is still running.")]}) from None  # fmt: skip
        return stored.status_code, stored.response
    try:
        # The work and its stored answer commit together: one transaction fewer a request.
        with transaction.atomic():
            status, answer = _answer(run)
            IdempotentRequest.objects.filter(pk=claim.pk).update(
                state=IdempotencyState.DONE, status_code=status, response=answer
            )
    except BaseException:
        claim.delete()  # nothing was done: the key may be used again
        raise
    return status, answer


def _answer(run) -> tuple[int, dict]:
    """A domain refusal (an overdraw, say) is an answer too, and is replayed as such."""
    try:
        return run()
    except GuanxiError as e:
        return e.status, e.as_dict()
