"""The public pages, through the test client without a login: a member's own page by its
signed link, and the referral landing page."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from guanxi.customers.models import Customer
from guanxi.loyalty import services
from guanxi.loyalty.choices import EntryKind
from guanxi.loyalty.models import LedgerEntry, Member, Redemption, Referral
from guanxi.loyalty.public import DEVICE_COOKIE
from guanxi.loyalty.services.members import self_service_token
from tests.factories import make_customer, make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(rep, customer):
    make_order(rep, customer, total="500")  # 500 + 100 for a first order
    return Member.objects.get(customer=customer)


@pytest.fixture
def other(rep):
    customer = make_customer(rep, name="李四", phones=["13900139001"], emails=["lisi@example.com"])
    make_order(rep, customer, total="800")
    return Member.objects.get(customer=customer)


def page_url(member):
    return reverse("loyalty_self_service", args=[self_service_token(member)])


def coupon(admin, **data):
    return services.reward_create(
        actor=admin, data={"name": "满100减30", "name_en": "¥30 off", "kind": "coupon",
                           "points": 300, "value": "30", **data},
    )  # fmt: skip


def test_the_members_page_shows_their_balance_tier_and_referral_link(member):
    response = Client().get(page_url(member))
    assert response.status_code == 200
    text = response.content.decode()
    assert "张三" in text
    assert ">600<" in text
    assert "Silver" in text
    assert "to reach Gold" in text
    assert member.referral_code in text
    assert f"http://testserver/r/{member.referral_code}/" in text
    assert response["Cache-Control"] == "private, no-store"


def test_an_altered_or_made_up_token_is_404(member):
    token = self_service_token(member)
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert Client().get(reverse("loyalty_self_service", args=[altered])).status_code == 404
    assert Client().get("/m/not-a-token/").status_code == 404


def test_a_token_stops_working_when_the_members_code_changes(member):
    url = page_url(member)
    Member.objects.filter(pk=member.pk).update(referral_code="NEWCODE2")
    assert Client().get(url).status_code == 404


def test_a_member_redeems_a_coupon_on_their_page(admin, member):
    reward = coupon(admin)
    client = Client()
    response = client.post(page_url(member), {"action": "redeem", "reward": reward.pk})
    assert response.status_code == 302
    text = client.get(response["Location"]).content.decode()
    redemption = Redemption.objects.get(member=member)
    assert redemption.reward == reward and redemption.code
    assert f"Your coupon code is {redemption.code}" in text
    assert redemption.code in text
    member.refresh_from_db()
    assert member.balance == 300


def test_a_reward_the_balance_does_not_cover_is_refused_and_nothing_is_written(admin, member):
    reward = coupon(admin, points=1000)
    client = Client()
    page = client.get(page_url(member)).content.decode()
    assert "400 to go" in page
    response = client.post(page_url(member), {"action": "redeem", "reward": reward.pk}, follow=True)
    assert "Not enough points" in response.content.decode()
    assert not Redemption.objects.exists()
    member.refresh_from_db()
    assert member.balance == 600
    assert not LedgerEntry.objects.filter(kind=EntryKind.REDEEM).exists()


def test_a_reward_above_the_members_tier_is_neither_offered_nor_honoured(admin, member):
    reward = services.reward_create(
        actor=admin, data={"name": "金卡礼盒", "name_en": "Gold gift box", "kind": "gift",
                           "points": 100, "min_tier": "gold"},
    )  # fmt: skip
    client = Client()
    assert "Gold gift box" not in client.get(page_url(member)).content.decode()
    response = client.post(page_url(member), {"action": "redeem", "reward": reward.pk}, follow=True)
    assert "This reward is not available to you." in response.content.decode()
    assert not Redemption.objects.exists()


def test_junk_reward_ids_are_refused(member):
    client = Client()
    for value in ["", "abc", "999999", "-1"]:
        response = client.post(page_url(member), {"action": "redeem", "reward": value}, follow=True)
        assert "This reward is not available to you." in response.content.decode()
    assert not Redemption.objects.exists()


def test_the_page_shows_nothing_of_another_member(admin, member, other):
    reward = coupon(admin)
    theirs = services.reward_redeem(actor=None, member=other, reward_id=reward.pk)
    services.points_adjust(actor=admin, customer=other.customer, points=7, reason="李四的补偿")
    client = Client()
    # Naming the other member or customer in the form changes nothing: the token decides.
    client.post(
        page_url(member),
        {
            "action": "redeem",
            "reward": reward.pk,
            "member": other.pk,
            "customer": other.customer_id,
        },
    )
    text = client.get(page_url(member)).content.decode()
    for secret in ["李四", other.referral_code, theirs.code, "13900139001", "lisi@example.com",
                   "李四的补偿"]:  # fmt: skip
        assert secret not in text
    assert Redemption.objects.filter(member=other).count() == 1
    assert Redemption.objects.filter(member=member).count() == 1
    other.refresh_from_db()
    assert other.balance == 800 + 100 - 300 + 7


def test_the_daily_sign_in_gives_points_once_a_day(member):
    client = Client()
    response = client.post(page_url(member), {"action": "sign_in"}, follow=True)
    assert "Signed in: +5 points" in response.content.decode()
    assert 'id="sign-in" disabled' in response.content.decode()
    response = client.post(page_url(member), {"action": "sign_in"}, follow=True)
    assert "already signed in today" in response.content.decode()
    member.refresh_from_db()
    assert member.balance == 605
    assert LedgerEntry.objects.filter(member=member, detail__event="sign_in").count() == 1


def test_the_history_is_newest_first_twenty_a_page(admin, member):
    for i in range(24):
        services.points_adjust(actor=admin, customer=member.customer, points=1, reason=f"gift {i}")
    client = Client()
    first = client.get(page_url(member)).content.decode()
    history = first[first.index('id="history"') :]
    assert len(re.findall(r'class="pts ', history)) == 20
    assert history.index("gift 23") < history.index("gift 10")
    assert "Page 1 of 2" in history
    assert "Order " not in history
    second = client.get(page_url(member), {"page": 2}).content.decode()
    history = second[second.index('id="history"') :]
    assert len(re.findall(r'class="pts ', history)) == 5
    assert "Order " in history
    assert client.get(page_url(member), {"page": "junk"}).status_code == 200


def test_the_forms_are_csrf_protected(member):
    client = Client(enforce_csrf_checks=True)
    response = client.post(page_url(member), {"action": "sign_in"})
    assert response.status_code == 403
    member.refresh_from_db()
    assert member.last_sign_in is None


def test_a_browser_posting_the_pages_own_form_passes_the_csrf_check(member):
    """As a browser does: the token from the page, the Origin of the site (which a
    no-referrer policy would have made "null")."""
    client = Client(enforce_csrf_checks=True)
    response = client.get(page_url(member))
    assert response["Referrer-Policy"] == "same-origin"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())[1]
    response = client.post(
        page_url(member),
        {"action": "sign_in", "csrfmiddlewaretoken": token},
        headers={"origin": "http://testserver"},
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.last_sign_in is not None


def test_the_page_follows_the_language_chosen(member):
    client = Client()
    response = client.get(page_url(member), headers={"accept-language": "zh-hans"})
    assert '<html lang="zh-hans">' in response.content.decode()
    assert "银卡会员" in response.content.decode()
    response = client.post(reverse("set_language"), {"language": "en", "next": page_url(member)})
    assert response.status_code == 302 and response["Location"] == page_url(member)
    response = client.get(page_url(member), headers={"accept-language": "zh-hans"})
    assert '<html lang="en">' in response.content.decode()


# -- the referral landing page -------------------------------------------------------------


def referral_url(member):
    return reverse("loyalty_referral", args=[member.referral_code])


def test_an_unknown_referral_code_is_404(member):
    assert Client().get("/r/NOSUCHCODE/").status_code == 404
    assert (
        Client().post("/r/NOSUCHCODE/", {"name": "王五", "phone": "13700137000"}).status_code == 404
    )


def test_the_landing_page_names_the_referrer_by_initial_only(member):
    response = Client().get(referral_url(member))
    text = response.content.decode()
    assert response.status_code == 200
    assert "张* invites you to join" in text
    for secret in ["张三", "13800138000", "zhangsan@example.com", "rep1"]:
        assert secret not in text
    assert DEVICE_COOKIE in response.cookies
    assert response.cookies[DEVICE_COOKIE]["httponly"]


def test_a_sign_up_creates_a_lead_attributed_to_the_referrer(rep, member):
    client = Client()
    client.get(referral_url(member))
    device = client.cookies[DEVICE_COOKIE].value
    response = client.post(
        referral_url(member), {"name": "王五", "phone": "13700137000", "email": ""}
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "Thank you for signing up!" in text
    assert "you and the friend who invited you both get points" in text
    lead = Customer.objects.get(name="王五")
    assert lead.stage == "lead" and lead.owner == rep
    referral = Referral.objects.get(referred=lead)
    assert referral.referrer == member
    assert referral.device_id == device
    assert Member.objects.get(customer=lead).referred_by == member
    assert "张三" not in text


def test_missing_fields_are_shown_next_to_them(member):
    response = Client().post(referral_url(member), {"name": "", "phone": "", "email": ""})
    text = response.content.decode()
    assert '<p class="err" data-field="name">Please give your name.</p>' in text
    assert 'data-field="phone">Please give a phone number or an email address.</p>' in text
    assert not Referral.objects.exists()


def test_the_referrer_cannot_refer_themselves_by_their_own_phone(member):
    customers = Customer.objects.count()
    response = Client().post(referral_url(member), {"name": "张小三", "phone": "13800138000"})
    assert response.status_code == 200
    assert "this phone number or email cannot take one" in response.content.decode()
    assert Customer.objects.count() == customers
    assert not Referral.objects.exists()


def test_one_device_signs_up_once(member):
    client = Client()
    client.get(referral_url(member))
    client.post(referral_url(member), {"name": "王五", "phone": "13700137000"})
    response = client.post(referral_url(member), {"name": "赵六", "phone": "13600136000"})
    assert "This device has already been used for a referral." in response.content.decode()
    assert Referral.objects.count() == 1
    assert not Customer.objects.filter(name="赵六").exists()


def test_a_made_up_device_cookie_is_replaced(member):
    client = Client()
    client.cookies[DEVICE_COOKIE] = "<script>"
    response = client.get(referral_url(member))
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,100}", response.cookies[DEVICE_COOKIE].value)
