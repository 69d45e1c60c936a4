"""The loyalty program over the API: members and their ledger, adjusting and redeeming (with
idempotency keys), rewards, tiers, rule versions, referrals, coupons, and who may do what."""

from decimal import Decimal

import pytest
from django.urls import resolve

from guanxi.loyalty.choices import EntryKind, IdempotencyState
from guanxi.loyalty.models import IdempotentRequest, LedgerEntry, Member, Redemption
from guanxi.loyalty.services.idempotency import body_hash
from tests.factories import make_customer, make_order

pytestmark = pytest.mark.django_db


def _error(response, status):
    assert response.status_code == status, response.content
    return response.json()["errors"]


def _ok(response, status=200):
    assert response.status_code == status, response.content
    return response.json()


@pytest.fixture
def member(rep, customer):
    make_order(rep, customer, total="250.40")  # 250 points, rounded down, + 100 first order
    return Member.objects.get(customer=customer)


def coupon_reward(api, user, **data):
    body = {"name": "满100减30", "name_en": "¥30 off", "kind": "coupon", "points": 100,
            "value": "30", "stock": 2, **data}  # fmt: skip
    return _ok(api(user).post("loyalty/rewards", body), 201)


# -- members ----------------------------------------------------------------------------------


def test_member_shows_balance_tier_and_progress_after_an_order(rep, customer, member, api):
    body = _ok(api(rep).get(f"loyalty/members/{customer.pk}"))
    assert body["customer"] == customer.pk
    assert (body["balance"], body["earned_total"]) == (350, 350)
    assert (body["redeemed_total"], body["expired_total"]) == (0, 0)
    assert body["tier"]["key"] == "silver"
    assert body["tier"]["name_en"] == "Silver"
    assert body["tier_since"] and body["joined_at"]
    assert body["grace_until"] is None
    assert body["referral_code"] == member.referral_code
    progress = body["progress"]
    assert progress["qualify_by"] == "spend"
    assert Decimal(progress["value"]) == Decimal("250.40")
    assert progress["next_tier"] == "gold"
    assert Decimal(progress["to_next"]) == Decimal("5000") - Decimal("250.40")
    url = body["self_service_url"]
    assert url.startswith("/m/") and url.endswith("/")
    assert resolve(url).url_name == "loyalty_self_service"


def test_balance_is_read_from_the_member_row(rep, customer, member, api):
    Member.objects.filter(pk=member.pk).update(balance=12345)  # not what the ledger sums to
    assert api(rep).get(f"loyalty/members/{customer.pk}").json()["balance"] == 12345


def test_a_customer_without_membership_is_404_and_enrolling_makes_one(rep, api):
    customer = make_customer(rep)
    client = api(rep)
    assert client.get(f"loyalty/members/{customer.pk}").status_code == 404
    body = _ok(client.post("loyalty/members", {"customer": customer.pk}), 201)
    assert (body["customer"], body["balance"], body["tier"]["key"]) == (customer.pk, 0, "silver")
    again = _ok(client.post("loyalty/members", {"customer": customer.pk}), 200)
    assert again["referral_code"] == body["referral_code"]
    assert Member.objects.filter(customer=customer).count() == 1


def test_ledger_lists_entries_newest_first_and_filters_by_kind(admin, rep, customer, member, api):
    order = make_order(rep, customer, number="SO-2", total="50")
    client = api(admin)
    _ok(
        client.post(f"loyalty/members/{customer.pk}/adjust", {"points": -20, "reason": "纠错"}), 201
    )
    page = _ok(client.get(f"loyalty/members/{customer.pk}/ledger"))
    assert page["count"] == 3
    kinds = [(e["kind"], e["points"]) for e in page["items"]]
    assert kinds == [("adjust", -20), ("earn", 50), ("earn", 350)]
    adjusted, earned = page["items"][0], page["items"][1]
    assert (adjusted["actor"], adjusted["reason"]) == ("admin1", "纠错")
    assert (earned["order_number"], earned["version"]) == (order.number, 1)
    assert earned["expires_at"] and earned["actor"] is None
    assert sum(e["remaining"] for e in page["items"]) == 380
    only = _ok(client.get(f"loyalty/members/{customer.pk}/ledger", {"kind": "adjust"}))
    assert [e["points"] for e in only["items"]] == [-20]
    assert "kind" in _error(client.get(f"loyalty/members/{customer.pk}/ledger", {"kind": "x"}), 422)


def test_a_rep_cannot_read_or_list_another_teams_member(rep, far_rep, api):
    theirs = make_customer(far_rep)
    make_order(far_rep, theirs, total="100")
    client = api(rep)
    for path in ("", "/ledger", "/redemptions", "/referrals", "/tier-moves"):
        assert client.get(f"loyalty/members/{theirs.pk}{path}").status_code == 404, path
    assert client.get("loyalty/members").json()["items"] == []
    assert client.post("loyalty/members", {"customer": theirs.pk}).status_code == 404
    assert [m["customer"] for m in api(far_rep).get("loyalty/members").json()["items"]] == [
        theirs.pk
    ]


def test_an_id_beyond_64_bits_is_a_422_not_a_crash(admin, api):
    client = api(admin)
    assert "customer_id" in _error(client.get(f"loyalty/members/{2**70}"), 422)
    body = {"points": 1, "reason": "x"}
    assert "customer_id" in _error(client.post(f"loyalty/members/{2**70}/adjust", body), 422)
    assert "reward_id" in _error(client.get(f"loyalty/rewards/{2**70}"), 422)


def test_members_filter_by_tier_and_by_name_or_code(rep, customer, member, api):
    other = make_customer(rep, name="王五")
    make_order(rep, other, total="6000")  # reaches gold at once
    client = api(rep)
    listed = lambda **p: [m["customer"] for m in client.get("loyalty/members", p).json()["items"]]  # noqa: E731
    assert set(listed()) == {customer.pk, other.pk}
    assert listed(tier="gold") == [other.pk]
    assert listed(q="王") == [other.pk]
    assert listed(q=member.referral_code.lower()) == [customer.pk]


def test_members_list_query_count_is_flat(admin, rep, api, django_assert_max_num_queries):
    for _ in range(30):
        make_order(rep, make_customer(rep), total="10")
    client = api(rep)
    client.get("me")
    with django_assert_max_num_queries(4):
        r = client.get("loyalty/members", {"limit": 50})
    assert len(r.json()["items"]) == 30
    assert all(m["tier"]["key"] == "silver" for m in r.json()["items"])


def test_an_upgrade_shows_in_tier_moves(rep, customer, member, api):
    make_order(rep, customer, total="5000")
    page = _ok(api(rep).get(f"loyalty/members/{customer.pk}/tier-moves"))
    assert [(m["kind"], m["from_tier"], m["to_tier"]) for m in page["items"]][0] == (
        "upgrade", "silver", "gold",
    )  # fmt: skip
    assert api(rep).get(f"loyalty/members/{customer.pk}").json()["tier"]["key"] == "gold"


# -- adjusting points -------------------------------------------------------------------------


def test_an_admin_adjusts_points_with_a_reason(admin, customer, member, api):
    r = api(admin).post(f"loyalty/members/{customer.pk}/adjust", {"points": 50, "reason": "补偿"})
    body = _ok(r, 201)
    assert body["balance"] == 400
    assert (body["entry"]["kind"], body["entry"]["points"]) == ("adjust", 50)
    assert body["entry"]["reason"] == "补偿"
    member.refresh_from_db()
    assert member.balance == 400


def test_a_rep_may_not_adjust_points(rep, customer, member, api):
    r = api(rep).post(f"loyalty/members/{customer.pk}/adjust", {"points": 50, "reason": "x"})
    assert r.status_code == 403, r.content
    member.refresh_from_db()
    assert member.balance == 350


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"points": 5}, "reason"),
        ({"points": 5, "reason": "   "}, "reason"),
        ({"points": 5, "reason": "x" * 301}, "reason"),
        ({"reason": "x"}, "points"),
        ({"points": 0, "reason": "x"}, "points"),
        ({"points": 10**9, "reason": "x"}, "points"),
        ({"points": "many", "reason": "x"}, "points"),
        ({"points": 5, "reason": "x", "balance": 0}, "balance"),
    ],
)
def test_bad_adjustment_names_the_field(admin, customer, member, api, body, field):
    assert field in _error(api(admin).post(f"loyalty/members/{customer.pk}/adjust", body), 422)
    assert not LedgerEntry.objects.filter(kind=EntryKind.ADJUST).exists()


def test_taking_more_than_the_balance_by_hand_is_a_409_with_the_balance(
    admin, customer, member, api
):
    r = api(admin).post(f"loyalty/members/{customer.pk}/adjust", {"points": -351, "reason": "x"})
    assert r.status_code == 409, r.content
    assert r.json()["balance"] == 350


# -- redeeming --------------------------------------------------------------------------------


def test_redeeming_points_takes_them_off_the_balance(rep, customer, member, api):
    body = _ok(api(rep).post(f"loyalty/members/{customer.pk}/redeem", {"points": 100}), 201)
    assert body["balance"] == 250
    assert (body["entry"]["kind"], body["entry"]["points"]) == ("redeem", -100)
    assert body["entry"]["actor"] == "rep1"
    assert body["redemption"] is None
    member.refresh_from_db()
    assert (member.balance, member.redeemed_total) == (250, 100)


def test_an_overdraw_is_a_409_naming_the_balance_and_takes_nothing(rep, customer, member, api):
    r = api(rep).post(f"loyalty/members/{customer.pk}/redeem", {"points": 351})
    assert r.status_code == 409, r.content
    assert r.json()["balance"] == 350
    assert "points" in r.json()["errors"]
    assert "350" in r.json()["detail"]
    member.refresh_from_db()
    assert member.balance == 350
    assert not LedgerEntry.objects.filter(kind=EntryKind.REDEEM).exists()


def test_redeeming_a_reward_takes_stock_and_gives_a_coupon_code(
    rep, marketer, customer, member, api
):
    reward = coupon_reward(api, marketer)
    r = api(rep).post(f"loyalty/members/{customer.pk}/redeem", {"reward": reward["id"]})
    body = _ok(r, 201)
    assert body["balance"] == 250
    assert (body["entry"]["points"], body["entry"]["reward"]) == (-100, reward["id"])
    redemption = body["redemption"]
    assert redemption["code"].startswith("GX") and redemption["expires_at"]
    assert (redemption["reward"], redemption["points"]) == (reward["id"], 100)
    assert api(rep).get(f"loyalty/rewards/{reward['id']}").json()["stock"] == 1
    listed = _ok(api(rep).get(f"loyalty/members/{customer.pk}/redemptions"))
    assert [x["code"] for x in listed["items"]] == [redemption["code"]]
    checked = api(rep).post(
        "loyalty/coupons/check", {"code": redemption["code"].lower(), "customer": customer.pk}
    )
    assert _ok(checked)["id"] == redemption["id"]
    assert (checked.json()["kind"], Decimal(checked.json()["value"])) == ("coupon", Decimal(30))


def test_a_reward_out_of_stock_or_above_the_members_tier_is_a_409(
    rep, marketer, customer, member, api
):
    gone = coupon_reward(api, marketer, stock=0)
    gold = coupon_reward(api, marketer, min_tier="gold")
    client = api(rep)
    for reward in (gone, gold):
        r = client.post(f"loyalty/members/{customer.pk}/redeem", {"reward": reward["id"]})
        assert "reward" in _error(r, 409)
    assert "reward" in _error(
        client.post(f"loyalty/members/{customer.pk}/redeem", {"reward": 10**9}), 404
    )
    member.refresh_from_db()
    assert member.balance == 350


@pytest.mark.parametrize("body", [{"points": 10, "reward": 1}, {}, {"points": None}])
def test_redeem_needs_exactly_one_of_points_and_reward(rep, customer, member, api, body):
    errors = _error(api(rep).post(f"loyalty/members/{customer.pk}/redeem", body), 422)
    assert {"points", "reward"} <= set(errors)
    assert not IdempotentRequest.objects.exists()


def test_a_coupon_of_another_customer_is_not_found(rep, marketer, customer, member, api):
    reward = coupon_reward(api, marketer)
    code = (
        api(rep)
        .post(f"loyalty/members/{customer.pk}/redeem", {"reward": reward["id"]})
        .json()["redemption"]["code"]
    )
    other = make_customer(rep)
    r = api(rep).post("loyalty/coupons/check", {"code": code, "customer": other.pk})
    assert "coupon" in _error(r, 404)


# -- idempotency keys -------------------------------------------------------------------------


def test_the_same_idempotency_key_replays_the_first_answer_and_redeems_once(
    rep, customer, member, api
):
    client = api(rep)
    client.headers["Idempotency-Key"] = "till-7-0001"
    path = f"loyalty/members/{customer.pk}/redeem"
    first = _ok(client.post(path, {"points": 100}), 201)
    again = _ok(client.post(path, {"points": 100}), 201)
    assert again == first
    assert LedgerEntry.objects.filter(kind=EntryKind.REDEEM).count() == 1
    member.refresh_from_db()
    assert member.balance == 250


def test_the_same_idempotency_key_with_another_body_is_a_422(rep, customer, member, api):
    client = api(rep)
    client.headers["Idempotency-Key"] = "till-7-0002"
    path = f"loyalty/members/{customer.pk}/redeem"
    _ok(client.post(path, {"points": 100}), 201)
    assert "Idempotency-Key" in _error(client.post(path, {"points": 101}), 422)
    other = make_customer(rep)
    make_order(rep, other, total="10")
    reused = client.post(f"loyalty/members/{other.pk}/redeem", {"points": 100})
    assert "Idempotency-Key" in _error(reused, 422)
    assert LedgerEntry.objects.filter(kind=EntryKind.REDEEM).count() == 1


def test_a_refusal_under_a_key_is_replayed_the_same(rep, customer, member, api):
    client = api(rep)
    client.headers["Idempotency-Key"] = "till-7-0003"
    path = f"loyalty/members/{customer.pk}/redeem"
    first = client.post(path, {"points": 1000})
    assert first.status_code == 409 and first.json()["balance"] == 350
    make_order(rep, customer, total="1000")  # enough now, but the key answers as it did
    second = client.post(path, {"points": 1000})
    assert (second.status_code, second.json()) == (409, first.json())


def test_a_reward_redemption_under_a_key_happens_once(rep, marketer, customer, member, api):
    reward = coupon_reward(api, marketer)
    client = api(rep)
    client.headers["Idempotency-Key"] = "till-7-0004"
    path = f"loyalty/members/{customer.pk}/redeem"
    first = _ok(client.post(path, {"reward": reward["id"]}), 201)
    assert _ok(client.post(path, {"reward": reward["id"]}), 201) == first
    assert Redemption.objects.count() == 1
    assert client.get(f"loyalty/rewards/{reward['id']}").json()["stock"] == 1


def test_an_adjustment_under_a_key_happens_once(admin, customer, member, api):
    client = api(admin)
    client.headers["Idempotency-Key"] = "desk-1"
    path = f"loyalty/members/{customer.pk}/adjust"
    first = _ok(client.post(path, {"points": 10, "reason": "补偿"}), 201)
    assert _ok(client.post(path, {"points": 10, "reason": "补偿"}), 201) == first
    assert LedgerEntry.objects.filter(kind=EntryKind.ADJUST).count() == 1


def test_a_request_while_the_first_with_its_key_runs_is_a_409(rep, customer, member, api):
    path = f"/api/v1/loyalty/members/{customer.pk}/redeem"
    scope, body = f"POST {path}", {"points": 100, "reward": None}
    IdempotentRequest.objects.create(  # what the first request claims before it works
        user=rep, key="till-7-0005", scope=scope, body_hash=body_hash(scope, body),
        state=IdempotencyState.RUNNING,
    )  # fmt: skip
    client = api(rep)
    client.headers["Idempotency-Key"] = "till-7-0005"
    assert "Idempotency-Key" in _error(client.post(path, {"points": 100}), 409)
    assert not LedgerEntry.objects.filter(kind=EntryKind.REDEEM).exists()


def test_a_hidden_customer_is_404_and_stores_no_key(rep, far_rep, api):
    theirs = make_customer(far_rep)
    make_order(far_rep, theirs, total="100")
    client = api(rep)
    client.headers["Idempotency-Key"] = "probe-1"
    assert client.post(f"loyalty/members/{theirs.pk}/redeem", {"points": 1}).status_code == 404
    adjust = api(rep)
    adjust.headers["Idempotency-Key"] = "probe-2"
    r = adjust.post(f"loyalty/members/{theirs.pk}/adjust", {"points": 1, "reason": "x"})
    assert r.status_code == 404
    assert not IdempotentRequest.objects.exists()


def test_an_idempotency_key_too_long_is_a_422(rep, customer, member, api):
    client = api(rep)
    client.headers["Idempotency-Key"] = "k" * 201
    r = client.post(f"loyalty/members/{customer.pk}/redeem", {"points": 1})
    assert "Idempotency-Key" in _error(r, 422)


# -- rewards ----------------------------------------------------------------------------------


def test_a_marketer_manages_rewards_and_a_rep_only_reads_them(rep, marketer, api):
    body = coupon_reward(api, marketer, min_tier="gold")
    assert (body["kind"], body["points"], body["stock"], body["min_tier"]) == (
        "coupon", 100, 2, "gold",
    )  # fmt: skip
    rid = body["id"]
    patched = _ok(api(marketer).patch(f"loyalty/rewards/{rid}", {"min_tier": None, "stock": 5}))
    assert (patched["min_tier"], patched["stock"]) == (None, 5)
    rep_client = api(rep)
    assert rep_client.get(f"loyalty/rewards/{rid}").json()["stock"] == 5
    assert [r["id"] for r in rep_client.get("loyalty/rewards").json()["items"]] == [rid]
    new = {"name": "茶杯", "kind": "gift", "points": 10}
    assert rep_client.post("loyalty/rewards", new).status_code == 403
    assert rep_client.patch(f"loyalty/rewards/{rid}", {"points": 1}).status_code == 403
    assert api(marketer).get(f"loyalty/rewards/{rid}").json()["points"] == 100


def test_the_active_filter_keeps_rewards_offered_now(rep, marketer, api):
    on = coupon_reward(api, marketer)
    off = coupon_reward(api, marketer, is_active=False)
    client = api(rep)
    assert {r["id"] for r in client.get("loyalty/rewards").json()["items"]} == {on["id"], off["id"]}
    assert [r["id"] for r in client.get("loyalty/rewards", {"active": True}).json()["items"]] == [
        on["id"]
    ]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": ""}, "name"),
        ({"kind": "cash"}, "kind"),
        ({"points": 0}, "points"),
        ({"min_tier": "diamond"}, "min_tier"),
        ({"valid_from": "2026-02-01T00:00:00Z", "valid_until": "2026-01-01T00:00:00Z"},
         "valid_until"),
        ({"stock": -1}, "stock"),
        ({"value": "-1"}, "value"),
        ({"id": 5}, "id"),
    ],
)  # fmt: skip
def test_bad_reward_input_names_the_field(marketer, api, data, field):
    body = {"name": "茶杯", "kind": "gift", "points": 10, **data}
    assert field in _error(api(marketer).post("loyalty/rewards", body), 422)


# -- tiers and the program --------------------------------------------------------------------


def test_tiers_list_their_members_and_a_marketer_adds_and_changes_one(
    rep, marketer, customer, member, api
):
    tiers = _ok(api(rep).get("loyalty/tiers"))
    assert [(t["key"], t["members"]) for t in tiers] == [
        ("silver", 1),
        ("gold", 0),
        ("platinum", 0),
    ]
    body = {"key": "diamond", "name": "钻石会员", "name_en": "Diamond", "rank": 4,
            "threshold": "50000", "benefits": {"multiplier": 3}}  # fmt: skip
    created = _ok(api(marketer).post("loyalty/tiers", body), 201)
    assert (created["key"], created["rank"], created["members"]) == ("diamond", 4, 0)
    patched = _ok(api(marketer).patch(f"loyalty/tiers/{created['id']}", {"threshold": "60000"}))
    assert Decimal(patched["threshold"]) == Decimal("60000")
    assert "rank" in _error(api(marketer).post("loyalty/tiers", {**body, "key": "d2"}), 409)
    bad = api(marketer).patch(f"loyalty/tiers/{created['id']}", {"benefits": {"cash": 1}})
    assert "benefits.cash" in _error(bad, 422)
    assert api(rep).post("loyalty/tiers", {**body, "key": "d3", "rank": 5}).status_code == 403
    assert api(marketer).patch("loyalty/tiers/999999", {"name": "x"}).status_code == 404


def test_the_program_is_read_by_all_and_changed_by_a_marketer(rep, marketer, api):
    body = _ok(api(rep).get("loyalty/program"))
    assert (body["expiry_months"], body["qualify_by"]) == (24, "spend")
    changed = _ok(api(marketer).patch("loyalty/program", {"expiry_months": 12, "grace_days": 7}))
    assert (changed["expiry_months"], changed["grace_days"]) == (12, 7)
    assert api(rep).get("loyalty/program").json()["expiry_months"] == 12
    assert api(rep).patch("loyalty/program", {"expiry_months": 1}).status_code == 403
    assert "expiry_months" in _error(
        api(marketer).patch("loyalty/program", {"expiry_months": 99999}), 422
    )
    assert "qualify_by" in _error(api(marketer).patch("loyalty/program", {"qualify_by": "x"}), 422)


# -- earning rules in versions ----------------------------------------------------------------


def test_a_draft_with_a_bad_rule_names_its_place(admin, api):
    rules = [{"name": "周末", "kind": "multiplier", "factor": 0, "weekdays": [6, 7]}]
    errors = _error(api(admin).post("loyalty/rules", {"rules": rules}), 422)
    assert "rules[0].factor" in errors
    assert _ok(api(admin).get("loyalty/rules"))["count"] == 1  # the seeded version only


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"base_rate": "-1"}, "base_rate"),
        ({"rounding": "sideways"}, "rounding"),
        ({"order_cap": -1}, "order_cap"),
        ({"order_cap": 2**40}, "order_cap"),
        ({"period": "ever"}, "period"),
        ({"rules": {"name": "x"}}, "rules"),
        ({"rules": [{"name": "x", "kind": "bonus", "event": "moon", "points": 1}]},
         "rules[0].event"),
        ({"rules": [{"name": "x", "kind": "multiplier", "factor": 2, "tiers": ["diamond"]}]},
         "rules[0].tiers"),
        ({"status": "published"}, "status"),
    ],
)  # fmt: skip
def test_bad_version_input_names_the_field(admin, api, data, field):
    assert field in _error(api(admin).post("loyalty/rules", data), 422)


def test_a_draft_is_published_and_then_never_changed(admin, marketer, rep, customer, api):
    client = api(marketer)
    rules = [{"name": "周末双倍", "kind": "multiplier", "factor": 2, "weekdays": [6, 7]}]
    draft = _ok(client.post("loyalty/rules", {"rules": rules, "base_rate": "2", "note": "x2"}), 201)
    assert (draft["number"], draft["status"], draft["in_force"]) == (2, "draft", False)
    assert draft["created_by"] == "marketer1"
    assert draft["rules"][0]["factor"] == "2"
    vid = draft["id"]
    patched = _ok(client.patch(f"loyalty/rules/{vid}", {"order_cap": 1000}))
    assert (patched["order_cap"], Decimal(patched["base_rate"])) == (1000, Decimal(2))
    published = _ok(client.post(f"loyalty/rules/{vid}/publish"))
    assert (published["status"], published["in_force"]) == ("published", True)
    assert published["published_at"] and published["effective_from"]
    assert client.patch(f"loyalty/rules/{vid}", {"note": "later"}).status_code == 409
    assert client.post(f"loyalty/rules/{vid}/publish").status_code == 409
    listed = _ok(client.get("loyalty/rules"))
    assert [(v["number"], v["in_force"]) for v in listed["items"]] == [(2, True), (1, False)]
    assert client.get(f"loyalty/rules/{vid}").json() == published
    make_order(rep, customer, total="100")  # earns by version 2 now: 2 a yuan, no first bonus
    assert api(rep).get(f"loyalty/members/{customer.pk}").json()["balance"] == 200


def test_a_draft_copies_the_version_it_is_based_on(admin, api):
    client = api(admin)
    seeded = client.get("loyalty/rules").json()["items"][0]
    draft = _ok(client.post("loyalty/rules", {"based_on": seeded["id"], "note": "copy"}), 201)
    assert draft["rules"] == seeded["rules"]
    assert draft["note"] == "copy"
    assert client.post("loyalty/rules", {"based_on": 999999}).status_code == 404


def test_publishing_before_the_version_in_force_is_refused(admin, api):
    client = api(admin)
    vid = _ok(client.post("loyalty/rules", {}), 201)["id"]
    r = client.post(f"loyalty/rules/{vid}/publish", {"effective_from": "1999-01-01T00:00:00Z"})
    assert "effective_from" in _error(r, 422)


def test_a_rep_may_read_rules_but_not_draft_them(rep, api):
    assert api(rep).get("loyalty/rules").status_code == 200
    assert api(rep).post("loyalty/rules", {"note": "x"}).status_code == 403


# -- referrals --------------------------------------------------------------------------------


def test_a_referral_is_attributed_and_listed(rep, customer, member, api):
    newcomer = make_customer(rep, name="赵六", phones=["13700137000"])
    client = api(rep)
    body = {"customer": newcomer.pk, "code": member.referral_code.lower(), "device_id": "dev-1"}
    referral = _ok(client.post("loyalty/referrals", body), 201)
    assert (referral["referrer"], referral["referred"]) == (customer.pk, newcomer.pk)
    assert (referral["referrer_code"], referral["converted_at"]) == (member.referral_code, None)
    assert [r["id"] for r in client.get("loyalty/referrals").json()["items"]] == [referral["id"]]
    stats = _ok(client.get(f"loyalty/members/{customer.pk}/referrals"))
    assert (stats["referrals"], stats["conversions"], stats["success_rate"]) == (1, 0, 0.0)
    assert client.get(f"loyalty/members/{newcomer.pk}").status_code == 200  # enrolled
    assert "code" in _error(client.post("loyalty/referrals", body), 409)


def test_a_referral_of_oneself_or_by_an_unknown_code_is_refused(rep, customer, member, api):
    client = api(rep)
    own = {"customer": customer.pk, "code": member.referral_code}
    assert "code" in _error(client.post("loyalty/referrals", own), 409)
    newcomer = make_customer(rep)
    unknown = {"customer": newcomer.pk, "code": "NOSUCH"}
    assert "code" in _error(client.post("loyalty/referrals", unknown), 404)


def test_referrals_of_hidden_customers_are_not_listed(rep, far_rep, api):
    referrer = make_customer(far_rep)
    make_order(far_rep, referrer, total="10")
    code = Member.objects.get(customer=referrer).referral_code
    newcomer = make_customer(far_rep)
    _ok(api(far_rep).post("loyalty/referrals", {"customer": newcomer.pk, "code": code}), 201)
    assert api(rep).get("loyalty/referrals").json()["items"] == []
    assert len(api(far_rep).get("loyalty/referrals").json()["items"]) == 1
    mine = make_customer(rep)
    r = api(rep).post("loyalty/referrals", {"customer": newcomer.pk, "code": code})
    assert r.status_code == 404
    assert (
        api(rep).post("loyalty/referrals", {"customer": mine.pk, "code": code}).status_code == 201
    )


def test_an_order_uses_a_coupon_once_and_a_used_one_refuses_the_order(admin, rep, customer, api):
    from guanxi.loyalty import services as loyalty
    from guanxi.orders.models import Order

    make_order(rep, customer, total="900")
    reward = loyalty.reward_create(
        actor=admin, data={"name": "券", "kind": "coupon", "points": 100}
    )
    code = loyalty.reward_redeem(actor=rep, customer=customer, reward_id=reward.pk).code
    order = {"customer": customer.pk, "number": "C-1", "coupon": code.lower(),
             "lines": [{"product_name": "茶", "quantity": 1, "unit_price": 50}]}  # fmt: skip
    assert api(rep).post("orders", order).status_code == 201
    again = api(rep).post("orders", {**order, "number": "C-2"})
    assert again.status_code == 409 and "coupon" in again.json()["errors"]
    assert not Order.objects.filter(number="C-2").exists()
    other = make_customer(rep, name="别人")
    stranger = api(rep).post("orders", {**order, "number": "C-3", "customer": other.pk})
    assert stranger.status_code == 404 and "coupon" in stranger.json()["errors"]


def test_attributing_to_a_code_of_a_customer_you_cannot_see_names_them_by_initial(
    rep, far_rep, customer, api
):
    from guanxi.loyalty import services as loyalty

    loyalty.member_enrol(actor=rep, customer=customer)
    code = customer.loyalty.referral_code
    mine = make_customer(far_rep, name="远方新客")
    r = api(far_rep).post("loyalty/referrals", {"customer": mine.pk, "code": code})
    assert r.status_code == 201, r.content
    assert (r.json()["referrer"], r.json()["referrer_name"]) == (None, "张*")
