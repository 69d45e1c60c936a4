"""The loyalty pages of the staff UI: the program page, a rules version (editor, publish), the
rewards and members lists, and the loyalty panel of the 360° page with its actions, in
English and Chinese, role by role."""

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from guanxi.accounts.models import AuditEntry
from guanxi.loyalty import services
from guanxi.loyalty.models import (
    LedgerEntry,
    LoyaltyProgram,
    LoyaltyTier,
    Member,
    Reward,
    RuleVersion,
)
from tests.factories import PASSWORD, make_customer, make_order

pytestmark = pytest.mark.django_db

PROGRAM = "/admin/loyalty/loyaltyprogram/"
MEMBERS = "/admin/loyalty/member/"
REWARDS = "/admin/loyalty/reward/"


def client_for(user, language="en"):
    c = Client(headers={"accept-language": language})
    assert c.login(username=user.username, password=PASSWORD)
    return c


def page_360(customer):
    return reverse("admin:customers_customer_360", args=[customer.pk])


def action_url(customer, action):
    return reverse("admin:loyalty_member_action", args=[customer.pk, action])


def version_url(version):
    return reverse("admin:loyalty_ruleversion_change", args=[version.pk])


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def member(rep, customer):
    """张三 (rep's), a member with 200 points: 100 for a ¥100 order, 100 for the first."""
    make_order(rep, customer, total="100.00")
    member = Member.objects.get(customer=customer)
    assert member.balance == 200
    return member


@pytest.fixture
def theirs(far_rep):
    """A member of another team's rep."""
    customer = make_customer(far_rep, name="周远方")
    make_order(far_rep, customer, total="50.00")
    return customer


# The program page ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "manager", "rep", "agent", "marketer"])
def test_the_program_page_renders_for_every_role_in_both_languages(request, role, member):
    user = request.getfixturevalue(role)
    page = client_for(user).get(PROGRAM)
    assert page.status_code == 200
    text = page.text
    for expected in ("Loyalty program", "Gold", "Platinum", "v1", "In force", "Earning rules",
                     "×1.5 points", "free shipping"):  # fmt: skip
        assert expected in text, expected
    may_manage = role in ("admin", "marketer")
    assert ('id="program-form"' in text) is may_manage
    assert ('id="new-draft"' in text) is may_manage
    zh = client_for(user, "zh-hans").get(PROGRAM)
    assert zh.status_code == 200
    assert 'lang="zh-hans"' in zh.text and "金卡会员" in zh.text


def test_member_counts_per_tier_are_of_the_members_the_viewer_sees(rep, far_rep, admin, member,
                                                                    theirs):  # fmt: skip
    silver = LoyaltyTier.objects.get(key="silver")
    for user, n in ((admin, 2), (rep, 1)):
        page = client_for(user).get(PROGRAM)
        row = next(t for t in page.context["tiers"] if t["tier"] == silver)
        assert row["members"] == n


def test_a_marketer_saves_the_settings_and_a_rep_cannot(marketer, rep):
    data = {"form": "program", "name": "会员计划", "name_en": "Tea club", "is_active": "on",
            "auto_enrol": "on", "expiry_months": "12", "warn_days": "14",
            "qualify_by": "points", "grace_days": "60"}  # fmt: skip
    r = client_for(rep).post(PROGRAM, data, follow=True)
    assert "You do not have permission" in " ".join(messages_of(r))
    assert LoyaltyProgram.current().expiry_months == 24
    r = client_for(marketer).post(PROGRAM, data)
    assert r.status_code == 302
    program = LoyaltyProgram.current()
    assert (program.name_en, program.expiry_months, program.qualify_by) == (
        "Tea club",
        12,
        "points",
    )
    bad = client_for(marketer).post(PROGRAM, {**data, "expiry_months": "5000"})
    assert bad.status_code == 200 and "Must be a whole number from 0 to 3650" in bad.text


def test_tiers_are_added_and_changed_through_the_form(marketer, rep):
    c = client_for(marketer)
    assert c.get("/admin/loyalty/loyaltyprogram/tiers/add/").status_code == 200
    r = c.post("/admin/loyalty/loyaltyprogram/tiers/add/", {
        "key": "diamond", "name": "钻石会员", "name_en": "Diamond", "rank": "4",
        "threshold": "50000", "color": "#0ea5e9", "multiplier": "3", "discount_pct": "15",
        "dedicated_manager": "on",
    })  # fmt: skip
    assert r.status_code == 302
    diamond = LoyaltyTier.objects.get(key="diamond")
    assert diamond.benefits == {"multiplier": 3, "discount_pct": 15, "dedicated_manager": True}
    clash = c.post(f"/admin/loyalty/loyaltyprogram/tiers/{diamond.pk}/", {
        "name": "钻石会员", "rank": "1", "threshold": "50000", "color": "#0ea5e9"})  # fmt: skip
    assert clash.status_code == 200 and "Another tier has this key or rank" in clash.text
    page = c.get(PROGRAM)
    assert "Diamond" in page.text and "×3 points" in page.text and "15% off" in page.text
    assert client_for(rep).get("/admin/loyalty/loyaltyprogram/tiers/add/").status_code == 404


# A rules version --------------------------------------------------------------------------


def test_the_version_page_shows_the_rules_in_words(rep, admin):
    v1 = RuleVersion.objects.get(number=1)
    page = client_for(rep).get(version_url(v1))
    assert page.status_code == 200
    text = page.text
    assert "First order bonus +100 points" in text
    assert "Birthday bonus +200 points, once a year" in text
    assert "Daily sign-in +5 points, once a day" in text
    assert 'id="version-editor"' not in text and 'id="draft-from"' not in text
    draft = services.version_draft(actor=admin, data={"rules": [
        {"name": "周末双倍", "name_en": "Weekend double", "kind": "multiplier", "factor": 2,
         "weekdays": [6, 7], "priority": 10},
        {"name": "茶叶", "name_en": "Tea", "kind": "multiplier", "factor": 3,
         "categories": ["茶叶"], "cap": 500, "stop": True, "valid_from": "2026-01-01"},
        {"name": "首单", "name_en": "First order", "kind": "bonus", "event": "first_order",
         "points": 100, "limit": 1, "per": "ever"},
    ], "order_cap": 5000})  # fmt: skip
    text = client_for(admin).get(version_url(draft)).text
    for expected in ("Weekend double ×2 on Sat, Sun", "Tea ×3 on category 茶叶",
                     "First order +100 points, once", "from 2026-01-01",
                     "at most 500 extra points an order", "stops the rules after it",
                     "5,000 an order", 'id="version-editor"', 'id="publish"'):  # fmt: skip
        assert expected in text, expected
    zh = client_for(admin, "zh-hans").get(version_url(draft))
    assert zh.status_code == 200 and "周末双倍 ×2" in zh.text


def test_a_draft_with_a_bad_rule_shows_its_place_and_saves_nothing(admin):
    draft = services.version_draft(actor=admin, data={})
    before = list(draft.rules)
    c = client_for(admin)
    form = {"base_rate": "2", "rounding": "nearest", "order_cap": "", "period_cap": "",
            "period": "month", "note": "试试"}  # fmt: skip
    bad = c.post(version_url(draft), {**form, "rules": json.dumps(
        [{"name": "坏", "kind": "multiplier", "factor": 0}])})  # fmt: skip
    assert bad.status_code == 200
    assert "rules[0].factor" in bad.text and "Nothing was saved" in bad.text
    draft.refresh_from_db()
    assert draft.rules == before and draft.base_rate == 1 and draft.note == ""
    broken = c.post(version_url(draft), {**form, "rules": "[{nope"})
    assert broken.status_code == 200 and "Not valid JSON" in broken.text
    ok = c.post(version_url(draft), {**form, "rules": json.dumps(
        [{"name": "周末", "kind": "multiplier", "factor": 2, "weekdays": [6, 7]}])})  # fmt: skip
    assert ok.status_code == 302
    draft.refresh_from_db()
    assert draft.base_rate == 2 and draft.rounding == "nearest" and draft.note == "试试"
    assert draft.rules[0]["factor"] == "2"


def test_publish_and_a_new_draft_from_a_version(admin, rep):
    v1 = RuleVersion.objects.get(number=1)
    c = client_for(admin)
    r = c.post(reverse("admin:loyalty_ruleversion_action", args=[v1.pk, "draft"]))
    draft = RuleVersion.objects.get(number=2)
    assert r.status_code == 302 and r.url == version_url(draft)
    assert draft.status == "draft" and draft.rules == v1.rules
    too_early = c.post(reverse("admin:loyalty_ruleversion_action", args=[draft.pk, "publish"]),
                       {"effective_from": "1999-01-01T00:00"}, follow=True)  # fmt: skip
    assert any("Must not be before" in m for m in messages_of(too_early))
    draft.refresh_from_db()
    assert draft.status == "draft"
    refused = client_for(rep).post(
        reverse("admin:loyalty_ruleversion_action", args=[draft.pk, "publish"]), follow=True
    )
    assert "You do not have permission" in " ".join(messages_of(refused))
    r = c.post(reverse("admin:loyalty_ruleversion_action", args=[draft.pk, "publish"]),
               {"effective_from": ""}, follow=True)  # fmt: skip
    draft.refresh_from_db()
    assert draft.status == "published" and draft.effective_from is not None
    assert any("v2 published" in m for m in messages_of(r))
    assert services.version_in_force().pk == draft.pk
    page = c.get(PROGRAM)
    in_force = [v for v in page.context["versions"] if v["in_force"]]
    assert [v["version"].number for v in in_force] == [2]
    assert 'id="version-editor"' not in c.get(version_url(draft)).text


def test_the_program_page_makes_a_new_draft(marketer):
    r = client_for(marketer).post(reverse("admin:loyalty_ruleversion_new"))
    draft = RuleVersion.objects.get(number=2)
    assert r.status_code == 302 and r.url == version_url(draft)


# Rewards ----------------------------------------------------------------------------------


def reward_form(**data):
    return {"name": "龙井茶礼盒", "name_en": "Longjing gift box", "description": "", "kind": "gift",
            "points": "800", "value": "0", "stock": "20", "min_tier": "", "valid_from_0": "",
            "valid_from_1": "", "valid_until_0": "", "valid_until_1": "", "coupon_days": "90",
            "is_active": "on", **data}  # fmt: skip


def test_a_reward_is_added_and_changed_through_the_service(marketer, rep):
    c = client_for(marketer)
    assert c.get(f"{REWARDS}add/").status_code == 200
    r = c.post(f"{REWARDS}add/", reward_form(min_tier=str(LoyaltyTier.objects.get(key="gold").pk)))
    assert r.status_code == 302, r.context["adminform"].form.errors if r.context else r
    reward = Reward.objects.get(name="龙井茶礼盒")
    assert (reward.points, reward.stock, reward.min_tier.key) == (800, 20, "gold")
    # The service wrote Guanxi's audit entry (ModelAdmin.save_model writes nothing).
    assert AuditEntry.objects.filter(model="loyalty.reward", object_id=str(reward.pk)).exists()
    changed = c.post(f"{REWARDS}{reward.pk}/change/", reward_form(points="900", stock=""))
    assert changed.status_code == 302
    reward.refresh_from_db()
    assert (reward.points, reward.stock) == (900, None)
    bad = c.post(f"{REWARDS}add/", reward_form(name="过期", valid_from_0="2026-02-01",
                                               valid_from_1="00:00", valid_until_0="2026-01-01",
                                               valid_until_1="00:00"))  # fmt: skip
    assert bad.status_code == 200 and "Ends before it starts" in bad.text
    assert not Reward.objects.filter(name="过期").exists()
    listing = c.get(REWARDS)
    assert listing.status_code == 200 and "Longjing gift box" in listing.text
    zh = client_for(marketer, "zh-hans").get(REWARDS)
    assert zh.status_code == 200 and "龙井茶礼盒" in zh.text
    # A rep reads the catalogue but may not add or change it.
    assert client_for(rep).get(REWARDS).status_code == 200
    assert client_for(rep).get(f"{REWARDS}add/").status_code == 403
    client_for(rep).post(f"{REWARDS}{reward.pk}/change/", reward_form(points="1"))
    reward.refresh_from_db()
    assert reward.points == 900


# Members ----------------------------------------------------------------------------------


def test_members_are_listed_as_the_viewer_may_see_them(admin, rep, member, theirs):
    mine = client_for(rep).get(MEMBERS)
    assert mine.status_code == 200
    assert "张三" in mine.text and "周远方" not in mine.text
    assert page_360(member.customer) in mine.text
    everyone = client_for(admin).get(MEMBERS)
    assert "张三" in everyone.text and "周远方" in everyone.text
    found = client_for(admin).get(MEMBERS, {"q": member.referral_code.lower()})
    assert "张三" in found.text and "周远方" not in found.text
    gold = LoyaltyTier.objects.get(key="gold")
    assert "张三" not in client_for(admin).get(MEMBERS, {"tier__id__exact": gold.pk}).text
    zh = client_for(rep, "zh-hans").get(MEMBERS)
    assert zh.status_code == 200 and "银卡会员" in zh.text
    # Read-only: no adding, and a member's own page is their 360° page.
    assert client_for(admin).get(f"{MEMBERS}add/").status_code == 403
    r = client_for(rep).get(f"{MEMBERS}{member.pk}/change/")
    assert r.status_code == 302 and r.url == page_360(member.customer) + "#loyalty"
    other = Member.objects.get(customer=theirs)
    assert client_for(rep).get(f"{MEMBERS}{other.pk}/change/").status_code == 404


def test_the_sidebar_has_the_loyalty_pages(rep):
    text = client_for(rep).get(PROGRAM).text
    for url in (PROGRAM, MEMBERS, REWARDS, reverse("admin:loyalty_analytics")):
        assert f'href="{url}"' in text, url


def test_the_analytics_address_is_registered(admin):
    response = client_for(admin).get(reverse("admin:loyalty_analytics"))
    assert response.status_code in (200, 404)  # 404 only until views_analytics exists


# The 360° page ----------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_360_panel_shows_the_membership(rep, member, language):
    page = client_for(rep, language).get(page_360(member.customer))
    assert page.status_code == 200
    start = page.text.index('id="loyalty"')
    panel = page.text[start : page.text.index("</section>", start)]
    assert 'id="loyalty-balance">200<' in panel
    assert member.referral_code in panel
    # The self-service link is signed (with a timestamp): it opens this member's page.
    token = re.search(r'id="loyalty-self-service" href="http://testserver/m/([^/"]+)/"', panel)[1]
    assert services.members.member_from_token(token) == member
    assert ("银卡会员" if language == "zh-hans" else "Silver") in panel
    assert "+200" in panel  # the order's points with its first-order bonus, the latest entry
    assert 'id="loyalty-redeem"' in panel and 'id="loyalty-adjust"' not in panel


def test_redeem_from_the_360_page_and_an_overdraw_changes_nothing(rep, member):
    c = client_for(rep)
    r = c.post(action_url(member.customer, "redeem"), {"points": "50", "reason": "抵扣"})
    assert r.status_code == 302 and r.url == page_360(member.customer) + "#loyalty"
    member.refresh_from_db()
    assert member.balance == 150
    entries = LedgerEntry.objects.filter(member=member).count()
    r = c.post(action_url(member.customer, "redeem"), {"points": "999"}, follow=True)
    assert any("The balance is 150 points" in m for m in messages_of(r))
    member.refresh_from_db()
    assert member.balance == 150
    assert LedgerEntry.objects.filter(member=member).count() == entries


def test_a_reward_is_redeemed_from_the_360_page(admin, rep, member):
    coupon = services.reward_create(actor=admin, data={"name": "十元券", "name_en": "¥10 coupon",
                                                       "kind": "coupon", "points": 150,
                                                       "value": "10"})  # fmt: skip
    page = client_for(rep).get(page_360(member.customer))
    assert "¥10 coupon" in page.text
    r = client_for(rep).post(action_url(member.customer, "reward"), {"reward": coupon.pk},
                             follow=True)  # fmt: skip
    assert any("Coupon code: GX" in m for m in messages_of(r))
    member.refresh_from_db()
    assert member.balance == 50
    r = client_for(rep).post(action_url(member.customer, "reward"), {"reward": coupon.pk},
                             follow=True)  # fmt: skip
    assert any("The balance is 50 points" in m for m in messages_of(r))


def test_adjusting_points_is_for_admins(admin, rep, member):
    r = client_for(rep).post(action_url(member.customer, "adjust"),
                             {"points": "500", "reason": "送的"}, follow=True)  # fmt: skip
    assert "You do not have permission" in " ".join(messages_of(r))
    member.refresh_from_db()
    assert member.balance == 200
    c = client_for(admin)
    assert 'id="loyalty-adjust"' in c.get(page_360(member.customer)).text
    c.post(action_url(member.customer, "adjust"), {"points": "-30", "reason": "更正"})
    member.refresh_from_db()
    assert member.balance == 170
    r = c.post(action_url(member.customer, "adjust"), {"points": "10", "reason": ""}, follow=True)
    assert any("reason" in m for m in messages_of(r))
    member.refresh_from_db()
    assert member.balance == 170


def test_a_rep_gets_404_for_another_teams_customer(rep, theirs):
    c = client_for(rep)
    for action in ("enrol", "redeem", "reward", "adjust"):
        assert c.post(action_url(theirs, action), {"points": "1", "reason": "x"}).status_code == 404
    assert Member.objects.get(customer=theirs).balance == 150


def test_enrol_from_the_360_page(rep, agent):
    customer = make_customer(rep, name="李四")
    page = client_for(rep).get(page_360(customer))
    assert 'id="loyalty-enrol"' in page.text and "Not a member" in page.text
    r = client_for(rep).post(action_url(customer, "enrol"), follow=True)
    assert any("Enrolled" in m for m in messages_of(r))
    member = Member.objects.get(customer=customer)
    assert member.tier.key == "silver" and member.balance == 0
    assert 'id="loyalty-balance">0<' in client_for(rep).get(page_360(customer)).text
