"""Concurrent writers against a real database, run in a process of its own by
test_concurrency.py: `python -m guanxi.loyalty.tests.concurrency_scenario '<json>'`.

The database is the one the environment names (GUANXI_SQLITE_PATH: a file copied from the
test database; DATABASE_URL: the PostgreSQL test database). The process starts real threads,
each with its own connection, held at a barrier so that they all start at once, and prints
one line of JSON: what every attempt answered.

Scenarios (`{"scenario": ..., ...}`):
- `redeem`: `attempts` calls of services.points_redeem(`points`) for `customer_id` by `actor`;
- `reward`: `attempts` calls of services.reward_redeem(`reward_id`);
- `idempotent`: `attempts` POSTs of the same body and Idempotency-Key to `path` with the bearer
  `token`, then one more after all of them (the replay)."""

from __future__ import annotations

import json
import sys
import threading
import traceback


def _outcome(call) -> dict:
    """What one attempt answered: ok, a domain error (its status and fields) or a crash."""
    from guanxi.core.errors import GuanxiError

    try:
        return {"ok": True, **(call() or {})}
    except GuanxiError as e:
        return {"ok": False, "status": e.status, "fields": sorted(e.errors), **e.extra}
    except Exception as e:  # anything else is a failure the test reports in full
        return {"ok": False, "status": None, "error": repr(e), "trace": traceback.format_exc()}


def run_threads(threads: int, attempts: int, make_call) -> list[dict]:
    """`attempts` calls of `make_call()()` spread over `threads` threads started together;
    each thread closes its connections when done."""
    from django.db import connections

    barrier = threading.Barrier(threads)
    results: list[dict] = []
    lock = threading.Lock()
    share = [attempts // threads + (i < attempts % threads) for i in range(threads)]

    def work(n: int) -> None:
        try:
            call = make_call()  # per thread: its own client, its own instances
            barrier.wait()
            for _ in range(n):
                outcome = _outcome(call)
                with lock:
                    results.append(outcome)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=work, args=(n,)) for n in share]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results


def _people(spec: dict):
    from guanxi.accounts.models import User
    from guanxi.customers.models import Customer

    return User.objects.get(username=spec["actor"]), Customer.objects.get(pk=spec["customer_id"])


def redeem(spec: dict) -> dict:
    from guanxi.loyalty import services

    def make_call():
        actor, customer = _people(spec)

        def call():
            entry = services.points_redeem(actor=actor, customer=customer, points=spec["points"])
            return {"entry": entry.pk}

        return call

    return {"results": run_threads(spec["threads"], spec["attempts"], make_call)}


def reward(spec: dict) -> dict:
    from guanxi.loyalty import services

    def make_call():
        actor, customer = _people(spec)

        def call():
            redemption = services.reward_redeem(
                actor=actor, customer=customer, reward_id=spec["reward_id"]
            )
            return {"entry": redemption.entry_id}

        return call

    return {"results": run_threads(spec["threads"], spec["attempts"], make_call)}


def idempotent(spec: dict) -> dict:
    from django.test import Client

    headers = {"Authorization": f"Bearer {spec['token']}", "Idempotency-Key": spec["key"]}
    body = json.dumps(spec["body"])

    def post() -> dict:
        response = Client().post(
            spec["path"], body, content_type="application/json", headers=headers
        )
        try:
            answer = response.json()
        except ValueError:
            answer = response.content.decode(errors="replace")[:2000]
        return {"code": response.status_code, "body": answer}

    def make_call():
        return post

    results = run_threads(spec["threads"], spec["attempts"], make_call)
    replay = _outcome(post)
    from django.db import connections

    connections.close_all()
    return {"results": results, "replay": replay}


SCENARIOS = {"redeem": redeem, "reward": reward, "idempotent": idempotent}


def main() -> None:
    import django

    spec = json.loads(sys.argv[1])
    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client's host ("testserver") is allowed
    print(json.dumps(SCENARIOS[spec["scenario"]](spec), default=str))


if __name__ == "__main__":
    main()
