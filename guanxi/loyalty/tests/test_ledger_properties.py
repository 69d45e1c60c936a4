"""The ledger's invariants under random sequences of everything that moves points: orders
earning (some old enough to expire), redemptions (overdraws refused), adjustments either way,
expiry as time moves on, orders cancelled or refunded and paid again, rewards with stock.

A model beside the database keeps its own balance, totals, stock and lots, and uses the lots
up the way the ledger promises (an order's own lot first when it is reversed, then by expiry,
oldest first, those that never expire last); after every step the database must agree with
it and with the invariants of services/ledger.py."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from guanxi.core.errors import Conflict
from guanxi.loyalty import services
from guanxi.loyalty.choices import EntryKind
from guanxi.loyalty.models import LedgerEntry, Member, Reward
from guanxi.orders.models import Order
from guanxi.orders.services import order_update
from tests.factories import make_customer, make_order

TOTAL_KINDS = {"earned_total": EntryKind.EARN, "redeemed_total": EntryKind.REDEEM,
               "expired_total": EntryKind.EXPIRE}  # fmt: skip


def ledger_problems(member: dict, entries) -> list[str]:
    """What is wrong with one member's ledger: `member` has balance and the three totals,
    `entries` are (kind, points, remaining). Plain data, so a test can read it from any
    database (the ORM, or a file another process wrote)."""
    problems = []
    balance = member["balance"]
    total = sum(points for _kind, points, _remaining in entries)
    held = sum(remaining for _kind, _points, remaining in entries)
    if balance != total:
        problems.append(f"balance {balance} is not the sum of the ledger, {total}")
    if held != max(balance, 0):
        problems.append(f"the lots hold {held}, the balance is {balance}")
    for kind, points, remaining in entries:
        if remaining < 0 or remaining > max(points, 0):
            problems.append(f"a {kind} entry of {points} has {remaining} left")
    for field, kind in TOTAL_KINDS.items():
        of_kind = abs(sum(points for k, points, _r in entries if k == kind))
        if member[field] != of_kind:
            problems.append(f"{field} is {member[field]}, its entries add up to {of_kind}")
    return problems


def assert_ledger(member: dict, entries) -> None:
    problems = ledger_problems(member, entries)
    assert not problems, problems


def ledger_of(member_id: int) -> tuple[dict, list[tuple[str, int, int]]]:
    """One member's row and ledger, read through the ORM."""
    member = Member.objects.values("balance", *TOTAL_KINDS).get(pk=member_id)
    entries = list(
        LedgerEntry.objects.filter(member_id=member_id)
        .order_by("pk")
        .values_list("kind", "points", "remaining")
    )
    return member, entries


def assert_ledgers() -> None:
    """Every member's ledger is right."""
    for member_id in Member.objects.values_list("pk", flat=True):
        assert_ledger(*ledger_of(member_id))


# -- the state machine ---------------------------------------------------------------------

NEVER = dt.datetime.max.replace(tzinfo=dt.UTC)


class Lot:
    def __init__(self, pk: int, expires_at, remaining: int):
        self.pk, self.expires_at, self.remaining = pk, expires_at, remaining

    def key(self):
        return (self.expires_at or NEVER, self.pk)


class LedgerMachine(RuleBasedStateMachine):
    """One fresh member per example, in a savepoint rolled back at its end."""

    admin = rep = None  # set by the test
    orders = Bundle("orders")

    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.customer = make_customer(self.rep, name="属性 Property")
        self.member_id = services.member_enrol(actor=self.rep, customer=self.customer).pk
        self.real_now = timezone.now()
        self.now = self.real_now  # the expiry job's clock, moved forward by `expire`
        self.balance = 0
        self.totals = dict.fromkeys(TOTAL_KINDS, 0)
        self.lots: dict[int, Lot] = {}
        self.held: dict[int, int] = {}  # order → points it holds
        self.order_lots: dict[int, list[int]] = {}  # order → its earn lots, oldest first
        self.status: dict[int, str] = {}
        self.rewards = {}
        for price, stock in ((40, 2), (250, None)):
            reward = services.reward_create(
                actor=self.admin,
                data={"name": f"礼 {price}", "kind": "gift", "points": price, "stock": stock},
            )
            self.rewards[reward.pk] = [price, stock]
        self.last_pk = LedgerEntry.objects.order_by("-pk").values_list("pk", flat=True).first()
        self.step, self.before = None, 0

    def _begin(self, step: str) -> None:
        self.step, self.before = step, self.balance

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # the model's arithmetic, as the ledger promises it

    def _credit(self, entry: LedgerEntry, kind: str) -> None:
        assert entry.kind == kind and entry.points > 0
        self.balance += entry.points
        if kind == EntryKind.EARN:
            self.totals["earned_total"] += entry.points
        remaining = min(entry.points, max(self.balance, 0))  # a hole is filled first
        self.lots[entry.pk] = Lot(entry.pk, entry.expires_at, remaining)

    def _debit(self, points: int, field: str | None = None, first_lot: int | None = None):
        self.balance -= points
        if field:
            self.totals[field] += points
        order = sorted((lot for lot in self.lots.values() if lot.remaining), key=Lot.key)
        if first_lot is not None and self.lots[first_lot].remaining:
            order.remove(self.lots[first_lot])
            order.insert(0, self.lots[first_lot])
        left = points
        for lot in order:
            take = min(lot.remaining, left)
            lot.remaining -= take
            left -= take
            if not left:
                break

    def _new_entries(self) -> list[LedgerEntry]:
        entries = list(
            LedgerEntry.objects.filter(member_id=self.member_id, pk__gt=self.last_pk or 0)
            .order_by("pk")
        )  # fmt: skip
        if entries:
            self.last_pk = entries[-1].pk
        return entries

    def _refused(self, call) -> None:
        """The call is a 409 and changes nothing."""
        before = ledger_of(self.member_id)
        with pytest.raises(Conflict):
            call()
        assert ledger_of(self.member_id) == before
        assert not self._new_entries()

    def _order_moved(self, order_id: int) -> None:
        """Apply what an order write added to the ledger: a lot when it earns, a reversal of
        what it held (its own lot first) when it stops counting."""
        for entry in self._new_entries():
            assert entry.order_id == order_id, entry
            if entry.kind == EntryKind.EARN:
                self._credit(entry, EntryKind.EARN)
                self.order_lots.setdefault(order_id, []).append(entry.pk)
            else:
                assert entry.kind == EntryKind.REVERSE and entry.points == -self.held[order_id]
                first = self.order_lots[order_id][-1]
                self._debit(-entry.points, first_lot=first)
            self.held[order_id] = self.held.get(order_id, 0) + entry.points

    # the rules

    @rule(
        target=orders,
        cents=st.integers(1, 300_000),
        days_ago=st.sampled_from([0, 10, 400, 725, 760, 900]),
    )
    def earn(self, cents, days_ago):
        self._begin("earn")
        total = Decimal(cents) / 100
        at = self.real_now - dt.timedelta(days=days_ago)
        order = make_order(self.rep, self.customer, total=str(total), ordered_at=at.isoformat())
        self.status[order.pk] = "paid"
        self.held[order.pk] = 0
        self._order_moved(order.pk)
        assert self.held[order.pk] >= int(total)  # at least one point a whole yuan
        return order.pk

    @rule(points=st.integers(1, 800))
    def redeem(self, points):
        self._begin("redeem")

        def call():
            return services.points_redeem(actor=self.rep, customer=self.customer, points=points)

        if points > self.balance:
            return self._refused(call)
        call()
        (entry,) = self._new_entries()
        assert (entry.kind, entry.points) == (EntryKind.REDEEM, -points)
        self._debit(points, "redeemed_total")

    @rule(points=st.integers(-2000, 2000).filter(bool))
    def adjust(self, points):
        self._begin("adjust")

        def call():
            return services.points_adjust(
                actor=self.admin, customer=self.customer, points=points, reason="property"
            )

        if points < 0 and -points > self.balance:
            return self._refused(call)
        call()
        (entry,) = self._new_entries()
        assert (entry.kind, entry.points) == (EntryKind.ADJUST, points)
        if points > 0:
            assert entry.expires_at is not None
            self._credit(entry, EntryKind.ADJUST)
        else:
            self._debit(-points)

    @rule(days=st.sampled_from([1, 30, 400, 800]))
    def expire(self, days):
        self._begin("expire")
        self.now += dt.timedelta(days=days)
        due = [lot for lot in self.lots.values() if lot.remaining and lot.expires_at
               and lot.expires_at <= self.now]  # fmt: skip
        points = sum(lot.remaining for lot in due)
        result = services.points_expire(now=self.now)
        assert result == {"members": 1 if due else 0, "points": points}
        entries = self._new_entries()
        assert sorted((e.lot_id, -e.points) for e in entries) == sorted(
            (lot.pk, lot.remaining) for lot in due
        )
        assert all(e.kind == EntryKind.EXPIRE for e in entries)
        self.balance -= points
        self.totals["expired_total"] += points
        for lot in due:
            lot.remaining = 0

    def _reverse(self, order_id: int, status: str) -> None:
        """Cancelled or refunded: the order holds nothing any more (a second such move, from
        cancelled to refunded say, has nothing left to take)."""
        self._begin("reverse")
        order_update(actor=self.rep, order=Order.objects.get(pk=order_id), data={"status": status})
        self.status[order_id] = status
        self._order_moved(order_id)
        assert self.held[order_id] == 0

    @rule(order_id=orders)
    def cancel(self, order_id):
        self._reverse(order_id, "cancelled")

    @rule(order_id=orders)
    def refund(self, order_id):
        self._reverse(order_id, "refunded")

    @rule(order_id=orders, status=st.sampled_from(["paid", "shipped", "completed"]))
    def pay(self, order_id, status):
        """Paid again after a reversal (it earns again), or moved on (it earns nothing)."""
        self._begin("pay")
        was = self.status[order_id]
        order_update(actor=self.rep, order=Order.objects.get(pk=order_id), data={"status": status})
        self.status[order_id] = status
        held = self.held[order_id]
        self._order_moved(order_id)
        if was not in ("cancelled", "refunded"):
            assert self.held[order_id] == held  # a status move within revenue earns once
        else:
            total = Order.objects.values_list("total", flat=True).get(pk=order_id)
            assert self.held[order_id] >= int(total)

    @rule(data=st.data())
    def reward(self, data):
        self._begin("reward")
        reward_id = data.draw(st.sampled_from(sorted(self.rewards)))
        price, stock = self.rewards[reward_id]

        def call():
            return services.reward_redeem(
                actor=self.rep, customer=self.customer, reward_id=reward_id
            )

        if stock == 0 or price > self.balance:
            self._refused(call)
        else:
            call()
            (entry,) = self._new_entries()
            assert (entry.kind, entry.points, entry.reward_id) == (
                EntryKind.REDEEM, -price, reward_id)  # fmt: skip
            self._debit(price, "redeemed_total")
            if stock is not None:
                self.rewards[reward_id][1] = stock - 1
        assert (
            Reward.objects.values_list("stock", flat=True).get(pk=reward_id)
            == (self.rewards[reward_id][1])
        )

    # after every step

    @invariant()
    def the_ledger_is_right(self):
        member, entries = ledger_of(self.member_id)
        assert_ledger(member, entries)
        assert member["balance"] == self.balance
        assert {f: member[f] for f in TOTAL_KINDS} == self.totals
        lots = dict(
            LedgerEntry.objects.filter(member_id=self.member_id, points__gt=0).values_list(
                "pk", "remaining"
            )
        )
        assert lots == {pk: lot.remaining for pk, lot in self.lots.items()}
        held = dict(
            LedgerEntry.objects.filter(member_id=self.member_id, order__isnull=False)
            .values("order_id")
            .annotate(n=Sum("points"))
            .values_list("order_id", "n")
        )
        assert {k: v for k, v in held.items() if v} == {k: v for k, v in self.held.items() if v}

    @invariant()
    def only_a_reversal_takes_the_balance_below_zero(self):
        # Earning fills a hole, a redemption, adjustment or reward cannot take what is not
        # there, expiry finds no lot when there is a hole: only reversing points already
        # spent lowers a balance to below zero.
        if self.balance < 0 and self.step != "reverse":
            assert self.balance >= self.before, (self.step, self.before, self.balance)


@pytest.mark.django_db
def test_the_ledger_stays_right_under_random_sequences(admin, rep):
    LedgerMachine.admin, LedgerMachine.rep = admin, rep
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
