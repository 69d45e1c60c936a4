"""The ledger through its services: earning on orders, reversal, redemption, expiry, tiers,
merges. Every test ends by checking the ledger's invariants."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from guanxi.core.errors import Conflict, ValidationFailed
from guanxi.loyalty import services
from guanxi.loyalty.choices import EntryKind
from guanxi.loyalty.models import LedgerEntry, LoyaltyTier, Member, RuleVersion, TierMove
from guanxi.orders.services import order_update
from tests.factories import make_customer, make_order

pytestmark = pytest.mark.django_db


def assert_invariants():
    for member in Member.objects.all():
        entries = LedgerEntry.objects.filter(member=member)
        total = entries.aggregate(n=Sum("points"))["n"] or 0
        lots = entries.filter(remaining__gt=0).aggregate(n=Sum("remaining"))["n"] or 0
        assert member.balance == total, (member, total)
        assert lots == max(member.balance, 0), (member, lots)
        earned = entries.filter(kind=EntryKind.EARN).aggregate(n=Sum("points"))["n"] or 0
        assert member.earned_total == earned


def rules(admin, rules=(), **fields):
    version = services.version_draft(actor=admin, data={"rules": list(rules), **fields})
    return services.version_publish(
        actor=admin, version=version, effective_from=timezone.now() - dt.timedelta(days=3650)
    )


def test_an_order_earns_base_points_and_the_first_order_bonus(rep, customer):
    make_order(rep, customer, total="250.40")
    member = Member.objects.get(customer=customer)
    assert member.balance == 250 + 100  # one point a yuan, rounded down; first order +100
    assert member.tier.key == "silver"
    make_order(rep, customer, total="99.99")
    member.refresh_from_db()
    assert member.balance == 350 + 99
    assert_invariants()


def test_multipliers_add_up_by_weekday_and_category(admin, rep, customer):
    rules(admin, [
        {"name": "周末", "kind": "multiplier", "factor": 2, "weekdays": [6, 7]},
        {"name": "茶叶", "kind": "multiplier", "factor": 3, "categories": ["茶叶"]},
    ])  # fmt: skip
    saturday = dt.datetime(2026, 11, 28, 10, tzinfo=dt.UTC)
    make_order(rep, customer, ordered_at=saturday.isoformat(), lines=[
        {"product_name": "铁观音", "category": "茶叶", "quantity": 1, "unit_price": 100},
        {"product_name": "茶具", "category": "器具", "quantity": 1, "unit_price": 50},
    ])  # fmt: skip
    entry = LedgerEntry.objects.get(kind=EntryKind.EARN)
    # base 150; weekend +150; tea +200 → 500 (no first-order bonus in these rules)
    assert entry.points == 500
    assert entry.detail["extras"] == {"周末": "150", "茶叶": "200"}
    assert_invariants()


def test_a_refund_reverses_the_orders_points_and_a_status_move_earns_once(rep, customer):
    order = make_order(rep, customer, total="300")
    order_update(actor=rep, order=order, data={"status": "shipped"})
    order_update(actor=rep, order=order, data={"status": "completed"})
    member = Member.objects.get(customer=customer)
    assert member.balance == 400
    order_update(actor=rep, order=order, data={"status": "refunded"})
    member.refresh_from_db()
    assert member.balance == 0
    assert LedgerEntry.objects.filter(kind=EntryKind.REVERSE).get().points == -400
    assert_invariants()


def test_reversing_points_already_spent_leaves_a_hole_the_next_points_fill(admin, rep, customer):
    order = make_order(rep, customer, total="300")  # 400 with the bonus
    services.points_redeem(actor=rep, customer=customer, points=350)
    order_update(actor=rep, order=order, data={"status": "cancelled"})
    member = Member.objects.get(customer=customer)
    assert member.balance == -350
    with pytest.raises(Conflict):
        services.points_redeem(actor=rep, customer=customer, points=1)
    make_order(rep, customer, total="500")
    member.refresh_from_db()
    assert member.balance == 150
    assert_invariants()


def test_redeeming_more_than_the_balance_is_a_conflict_naming_the_balance(rep, customer):
    make_order(rep, customer, total="20")
    with pytest.raises(Conflict) as e:
        services.points_redeem(actor=rep, customer=customer, points=121)
    assert e.value.extra["balance"] == 120
    assert "120" in e.value.message
    assert Member.objects.get(customer=customer).balance == 120
    assert_invariants()


def test_redemption_uses_the_oldest_lots_first_and_expiry_takes_what_is_left(admin, rep, customer):
    long_ago = timezone.now() - dt.timedelta(days=800)  # older than the 24 months
    make_order(rep, customer, total="100", ordered_at=long_ago.isoformat())  # 200 lot, expired
    make_order(rep, customer, total="50")  # 50 lot
    services.points_redeem(actor=rep, customer=customer, points=120)
    lots = dict(LedgerEntry.objects.filter(kind=EntryKind.EARN).values_list("points", "remaining"))
    assert lots == {200: 80, 50: 50}
    result = services.points_expire()
    assert result == {"members": 1, "points": 80}
    member = Member.objects.get(customer=customer)
    assert (member.balance, member.expired_total) == (50, 80)
    assert_invariants()


def test_adjust_needs_a_reason_is_for_admins_and_is_audited(admin, rep, customer):
    from guanxi.accounts.models import AuditEntry
    from guanxi.core.errors import PermissionDenied

    services.member_enrol(actor=rep, customer=customer)
    with pytest.raises(PermissionDenied):
        services.points_adjust(actor=rep, customer=customer, points=10, reason="x")
    with pytest.raises(ValidationFailed) as e:
        services.points_adjust(actor=admin, customer=customer, points=10, reason=" ")
    assert "reason" in e.value.errors
    services.points_adjust(actor=admin, customer=customer, points=30, reason="补偿 goodwill")
    with pytest.raises(Conflict):
        services.points_adjust(actor=admin, customer=customer, points=-31, reason="too much")
    services.points_adjust(actor=admin, customer=customer, points=-10, reason="correction")
    assert Member.objects.get(customer=customer).balance == 20
    assert AuditEntry.objects.filter(model="loyalty.member").count() == 2
    assert_invariants()


def test_tier_upgrades_at_once_and_downgrades_only_after_grace(admin, rep, customer):
    order = make_order(rep, customer, total="6000")
    member = Member.objects.get(customer=customer)
    assert member.tier.key == "gold"
    assert TierMove.objects.get().reason.startswith("spend 6,000 yuan")
    order_update(actor=rep, order=order, data={"status": "refunded"})
    counts = services.tiers_evaluate()
    member.refresh_from_db()
    assert counts["grace"] == 1 and member.tier.key == "gold" and member.grace_until
    counts = services.tiers_evaluate(now=timezone.now() + dt.timedelta(days=31))
    member.refresh_from_db()
    assert counts["downgrade"] == 1 and member.tier.key == "silver"


def test_a_tier_multiplier_adds_to_the_points(admin, rep, customer):
    make_order(rep, customer, total="6000")  # gold: ×1.5 from then on
    make_order(rep, customer, total="100")
    assert LedgerEntry.objects.filter(kind=EntryKind.EARN).order_by("pk").last().points == 150


def test_order_cap_and_period_cap(admin, rep, customer):
    rules(admin, order_cap=500, period_cap=700, period="month")
    make_order(rep, customer, total="800")
    make_order(rep, customer, total="800")
    points = list(LedgerEntry.objects.order_by("pk").values_list("points", flat=True))
    assert points == [500, 200]


def test_rules_are_validated_by_place(admin):
    with pytest.raises(ValidationFailed) as e:
        services.version_draft(actor=admin, data={"rules": [
            {"name": "ok", "kind": "multiplier", "factor": 2},
            {"name": "bad", "kind": "multiplier", "factor": 0, "weekdays": [8], "tiers": ["x"]},
            {"kind": "bonus", "event": "nope", "points": -1},
        ]})  # fmt: skip
    errors = e.value.errors
    assert {"rules[1].factor", "rules[1].weekdays", "rules[1].tiers", "rules[2].name",
            "rules[2].event", "rules[2].points"} <= set(errors)  # fmt: skip
    assert RuleVersion.objects.count() == 1


def test_an_order_earns_by_the_rules_in_force_when_it_was_placed(admin, rep, customer):
    version = services.version_draft(actor=admin, data={"base_rate": "2", "rules": []})
    services.version_publish(actor=admin, version=version)
    before = timezone.now() - dt.timedelta(days=30)
    make_order(rep, customer, total="100", ordered_at=before.isoformat())  # v1: 100 + 100
    make_order(rep, customer, total="100")  # v2: 200
    assert list(LedgerEntry.objects.order_by("pk").values_list("points", "version")) == [
        (200, 1), (200, 2)]  # fmt: skip


def test_rewards_take_stock_and_points_and_coupons_are_single_use(admin, rep, customer):
    make_order(rep, customer, total="900")  # 1000 points
    reward = services.reward_create(
        actor=admin, data={"name": "满减券", "kind": "coupon", "points": 400, "stock": 1}
    )
    redemption = services.reward_redeem(actor=rep, customer=customer, reward_id=reward.pk)
    assert redemption.code.startswith("GX")
    with pytest.raises(Conflict):
        services.reward_redeem(actor=rep, customer=customer, reward_id=reward.pk)  # out of stock
    order = make_order(rep, customer, total="10")
    services.coupon_use(code=redemption.code, order=order)
    with pytest.raises(Conflict):
        services.coupon_use(code=redemption.code, order=order)
    assert Member.objects.get(customer=customer).balance == 1000 - 400 + 10
    assert_invariants()


def test_a_tier_only_reward_is_refused_below_it(admin, rep, customer):
    make_order(rep, customer, total="900")
    gold = LoyaltyTier.objects.get(key="gold")
    reward = services.reward_create(
        actor=admin, data={"name": "金卡礼", "kind": "gift", "points": 10, "min_tier": gold.key}
    )
    with pytest.raises(Conflict) as e:
        services.reward_redeem(actor=rep, customer=customer, reward_id=reward.pk)
    assert "Gold" in e.value.message


def test_a_referral_rewards_both_sides_when_the_first_order_completes(admin, rep, customer):
    services.member_enrol(actor=rep, customer=customer)
    code = Member.objects.get(customer=customer).referral_code
    referral = services.referral_sign_up(
        code=code, data={"name": "李四", "phone": "13900139000"}, device_id="dev-1"
    )
    friend = referral.referred
    assert friend.owner_id == rep.pk
    order = make_order(rep, friend, total="100")
    assert Member.objects.get(customer=customer).balance == 0  # not yet completed
    order_update(actor=rep, order=order, data={"status": "completed"})
    assert Member.objects.get(customer=customer).balance == 500
    assert Member.objects.get(customer=friend).balance == 200 + 200  # order + bonus, welcome
    order_update(actor=rep, order=order, data={"notes": "again"})
    assert Member.objects.get(customer=customer).balance == 500
    assert_invariants()


def test_referral_guards_self_referral_and_repeated_devices(rep, customer):
    services.member_enrol(actor=rep, customer=customer)
    code = Member.objects.get(customer=customer).referral_code
    with pytest.raises(Conflict) as e:
        services.referral_sign_up(code=code, data={"name": "me", "phone": "13800138000"})
    assert "someone new" in str(e.value.errors)
    services.referral_sign_up(code=code, data={"name": "A", "email": "a@example.com"},
                              device_id="d1")  # fmt: skip
    with pytest.raises(Conflict):
        services.referral_sign_up(code=code, data={"name": "B", "email": "b@example.com"},
                                  device_id="d1")  # fmt: skip


def test_merging_two_members_adds_their_points_and_undo_gives_them_back(admin, rep, customer):
    from guanxi.customers.services.merge import customers_merge, customers_unmerge

    other = make_customer(rep, name="张三 dup")
    make_order(rep, customer, total="100")  # 200
    make_order(rep, other, total="50")  # 150
    merge = customers_merge(actor=admin, survivor=customer, other=other)
    assert Member.objects.get(customer=customer).balance == 350
    assert Member.objects.count() == 1
    assert_invariants()
    customers_unmerge(actor=admin, merge=merge)
    assert Member.objects.get(customer=customer).balance == 200
    assert Member.objects.get(customer_id=other.pk).balance == 150
    assert_invariants()


def test_sign_in_gives_its_bonus_once_a_day(rep, customer):
    member = services.member_enrol(actor=rep, customer=customer)
    assert services.sign_in(member=member) == 5
    assert services.sign_in(member=member) == 0
    assert Member.objects.get(pk=member.pk).balance == 5


def test_expiry_warning_is_on_the_timeline_and_emailed_once(rep, customer, immediate_tasks):
    from django.core import mail

    from guanxi.interactions.models import TimelineEvent

    soon = timezone.now() - dt.timedelta(days=720)  # expires in about ten days
    make_order(rep, customer, total="100", ordered_at=soon.isoformat())
    with immediate_tasks(execute=True):
        result = services.expiry_warn()
    assert result["members"] == 1 and result["emailed"] == 1
    assert len(mail.outbox) == 1 and "200" in mail.outbox[0].body
    assert services.expiry_warn()["members"] == 0
    assert TimelineEvent.objects.filter(kind="loyalty", data__action="expiry_warning").exists()


def test_birthday_bonus_once_a_year(rep):
    today = timezone.localdate()
    person = make_customer(rep, name="寿星", birthday=today.replace(year=1990).isoformat())
    services.member_enrol(actor=rep, customer=person)
    assert services.birthdays_award(today=today) == 1
    assert services.birthdays_award(today=today) == 0
    assert Member.objects.get(customer=person).balance == 200


def test_points_value_is_decimal_exact():
    from guanxi.loyalty.rules import Compiled, OrderInput, order_points

    version = RuleVersion(number=9, base_rate=Decimal("0.1"), rounding="nearest", rules=[])
    points, _ = order_points(
        Compiled.of(version), OrderInput(total=Decimal("45.00"), at=timezone.localtime())
    )
    assert points == 5  # 4.5 rounds half up
