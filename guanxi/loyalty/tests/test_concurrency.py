"""Concurrent redemptions against a real database never overdraw, oversell or double-apply.

The data is made through the services in a transactional test (so it is committed); on SQLite
the in-memory test database is then copied to a file (the shared in-memory database cannot
take concurrent writers), on PostgreSQL the test database itself is used. Real threads, each
with its own connection, run in a separate process (concurrency_scenario.py), all released
at once; the final state is read back from the database the threads wrote."""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

from guanxi.accounts.services import token_create
from guanxi.loyalty import services
from guanxi.loyalty.models import IdempotentRequest, LedgerEntry, Member, Redemption, Reward
from guanxi.loyalty.tests.test_ledger_properties import assert_ledger, ledger_of
from tests.factories import make_customer, make_order

# Committed data, so that another process sees it.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def seeded_program(django_db_setup, django_db_blocker):
    """The seeded program (tiers, the first rules version), put back if a transactional test
    before this one flushed it (the migration's own seeding, which adds only what is missing;
    serialized_rollback would load every table again and clash with content types)."""
    import importlib

    from django.apps import apps

    defaults = importlib.import_module("guanxi.loyalty.migrations.0002_defaults")
    with django_db_blocker.unblock():
        defaults.seed(apps, None)


ROOT = Path(settings.BASE_DIR)
THREADS = 40


class SharedDatabase:
    """The test database as other processes see it: `run(spec)` runs a scenario against it,
    `ledger(member_id)` and `value(...)` read what the scenario left."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.sqlite = connection.vendor == "sqlite"
        self.file = tmp_path / "shared.sqlite3"

    def _env(self) -> dict:
        env = dict(os.environ, DJANGO_SETTINGS_MODULE="guanxi.settings",
                   GUANXI_DATA_DIR=str(self.tmp_path / "data"),
                   GUANXI_SECRET_KEY=settings.SECRET_KEY)  # fmt: skip
        if self.sqlite:
            env.pop("DATABASE_URL", None)
            env["GUANXI_SQLITE_PATH"] = str(self.file)
        else:
            parts = urlsplit(os.environ["DATABASE_URL"])
            name = connection.settings_dict["NAME"]
            env["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
        return env

    def _copy(self) -> None:
        """The in-memory test database, as it is now, into a file in WAL mode."""
        connection.ensure_connection()
        self.file.unlink(missing_ok=True)
        target = sqlite3.connect(self.file)
        try:
            connection.connection.backup(target)
            target.execute("PRAGMA journal_mode=WAL")
        finally:
            target.close()

    def run(self, spec: dict) -> dict:
        if self.sqlite:
            self._copy()
        process = subprocess.run(
            [sys.executable, "-m", "guanxi.loyalty.tests.concurrency_scenario", json.dumps(spec)],
            cwd=ROOT, env=self._env(), capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert process.returncode == 0, process.stderr[-5000:]
        return json.loads(process.stdout.strip().splitlines()[-1])

    def _sql(self, sql: str, params=()) -> list[tuple]:
        if self.sqlite:
            with sqlite3.connect(self.file) as db:
                return db.execute(sql.replace("%s", "?"), params).fetchall()
        with connection.cursor() as cursor:  # the scenario committed: this session sees it
            cursor.execute(sql, params)
            return cursor.fetchall()

    def ledger(self, member_id: int) -> tuple[dict, list[tuple[str, int, int]]]:
        if not self.sqlite:
            return ledger_of(member_id)
        (row,) = self._sql(
            f"SELECT balance, earned_total, redeemed_total, expired_total "
            f"FROM {Member._meta.db_table} WHERE id = %s",
            [member_id],
        )
        member = dict(
            zip(("balance", "earned_total", "redeemed_total", "expired_total"), row, strict=True)
        )
        entries = self._sql(
            f"SELECT kind, points, remaining FROM {LedgerEntry._meta.db_table} "
            "WHERE member_id = %s ORDER BY id",
            [member_id],
        )
        return member, [tuple(e) for e in entries]

    def count(self, model, **where) -> int:
        clause = " AND ".join(f"{column} = %s" for column in where) or "1 = 1"
        sql = f"SELECT COUNT(*) FROM {model._meta.db_table} WHERE {clause}"
        return self._sql(sql, list(where.values()))[0][0]

    def value(self, model, column: str, pk: int):
        return self._sql(f"SELECT {column} FROM {model._meta.db_table} WHERE id = %s", [pk])[0][0]


@pytest.fixture
def shared_db(tmp_path):
    return SharedDatabase(tmp_path)


def a_member_with_1000_points(admin, rep):
    """A member whose 1,000 points are three lots: an order's (300 + the first-order bonus of
    100) and two adjustments by an admin."""
    customer = make_customer(rep, name="并发 Concurrent")
    make_order(rep, customer, total="300")
    services.points_adjust(actor=admin, customer=customer, points=337, reason="lot two")
    services.points_adjust(actor=admin, customer=customer, points=263, reason="lot three")
    member = Member.objects.get(customer=customer)
    assert member.balance == 1000
    return customer, member


def split(results: list[dict], refused_field: str) -> tuple[list, list, list]:
    """(successes, refusals naming `refused_field`, anything else)."""
    ok = [r for r in results if r["ok"]]
    refused = [r for r in results if not r["ok"] and r["status"] == 409]
    other = [r for r in results if not r["ok"] and r["status"] != 409]
    assert all(r["fields"] == [refused_field] for r in refused), refused[:3]
    return ok, refused, other


def test_200_concurrent_redemptions_take_exactly_what_the_balance_covers(admin, rep, shared_db):
    customer, member = a_member_with_1000_points(admin, rep)
    price, attempts = 7, 200

    out = shared_db.run({"scenario": "redeem", "customer_id": customer.pk,
                         "actor": admin.username, "points": price, "attempts": attempts,
                         "threads": THREADS})  # fmt: skip

    ok, refused, other = split(out["results"], "points")
    assert not other, other[0].get("trace") or other[0]
    assert len(ok) == 1000 // price == 142 and len(refused) == attempts - 142
    # Refused only when the balance truly did not cover the price, and never below zero.
    assert all(0 <= r["balance"] < price for r in refused), refused[:3]
    state, entries = shared_db.ledger(member.pk)
    assert state["balance"] == 1000 - 142 * price == 6
    assert state["redeemed_total"] == 142 * price
    assert sum(1 for kind, _p, _r in entries if kind == "redeem") == 142
    assert_ledger(state, entries)


@pytest.mark.parametrize(
    ("price", "stock", "wins", "refused_field"),
    [
        (30, 20, 20, "reward"),  # 33 affordable, 20 in stock: the stock runs out
        (90, 50, 11, "points"),  # 50 in stock, 11 affordable: the balance runs out
    ],
)
def test_concurrent_reward_redemptions_neither_oversell_nor_overdraw(
    admin, rep, shared_db, price, stock, wins, refused_field
):
    customer, member = a_member_with_1000_points(admin, rep)
    reward = services.reward_create(
        actor=admin, data={"name": "限量礼", "kind": "coupon", "points": price, "stock": stock}
    )
    attempts = 200

    out = shared_db.run({"scenario": "reward", "customer_id": customer.pk,
                         "actor": admin.username, "reward_id": reward.pk, "attempts": attempts,
                         "threads": THREADS})  # fmt: skip

    ok, refused, other = split(out["results"], refused_field)
    assert not other, other[0].get("trace") or other[0]
    assert (len(ok), len(refused)) == (wins, attempts - wins)
    # A refusal for points gives the stock it took back (the same transaction).
    assert shared_db.value(Reward, "stock", reward.pk) == stock - wins
    assert shared_db.count(Redemption, member_id=member.pk) == wins
    state, entries = shared_db.ledger(member.pk)
    assert state["balance"] == 1000 - wins * price >= 0
    assert sum(1 for kind, _p, _r in entries if kind == "redeem") == wins
    assert_ledger(state, entries)


def test_one_idempotency_key_sent_50_times_at_once_redeems_once(admin, rep, shared_db):
    customer, member = a_member_with_1000_points(admin, rep)
    _token, plain = token_create(actor=None, user=admin)
    path = f"/api/v1/loyalty/members/{customer.pk}/redeem"

    out = shared_db.run({"scenario": "idempotent", "path": path, "token": plain, "key": "k1",
                         "body": {"points": 10}, "attempts": 50, "threads": 50})  # fmt: skip

    answers = out["results"]
    assert len(answers) == 50 and all(a["ok"] for a in answers), answers[:3]
    created = [a["body"] for a in answers if a["code"] == 201]
    running = [a["body"] for a in answers if a["code"] == 409]
    assert len(created) + len(running) == 50, [a for a in answers if a["code"] not in (201, 409)]
    assert created and all(body == created[0] for body in created), created[:3]
    assert created[0]["balance"] == 990 and created[0]["entry"]["points"] == -10
    assert all("Idempotency-Key" in body["errors"] for body in running), running[:3]
    # The same key again, afterwards: the first answer, replayed.
    assert out["replay"]["code"] == 201 and out["replay"]["body"] == created[0]
    state, entries = shared_db.ledger(member.pk)
    assert state["balance"] == 990
    assert [p for kind, p, _r in entries if kind == "redeem"] == [-10]
    assert shared_db.count(IdempotentRequest, key="k1") == 1
    assert_ledger(state, entries)
