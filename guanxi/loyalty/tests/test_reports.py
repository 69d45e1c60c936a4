"""The program's figures on a small known data set, as an admin and as a rep (who sees only
their own customers' members), and the staff analytics page that shows them."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib import admin as django_admin
from django.contrib.admin import ModelAdmin
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.test import RequestFactory
from django.urls import NoReverseMatch, path, reverse

from guanxi.loyalty import reports, services
from guanxi.loyalty.models import Member
from guanxi.loyalty.services.ledger import add_months
from guanxi.loyalty.views_analytics import analytics_page
from guanxi.urls import urlpatterns as site_urlpatterns
from tests.factories import make_customer, make_order

pytestmark = pytest.mark.django_db


def _page(request):
    return analytics_page(request, ModelAdmin(Member, django_admin.site))


# The page as admin.py registers it (`admin:loyalty_analytics`), and a stand-in route to the
# same view for as long as that registration is not there.
urlpatterns = [
    path("test-loyalty-analytics/", django_admin.site.admin_view(_page)),
    *site_urlpatterns,
]


def analytics_url():
    try:
        return reverse("admin:loyalty_analytics")
    except NoReverseMatch:
        return "/test-loyalty-analytics/"


def reward(admin, name, kind, points, **data):
    return services.reward_create(
        actor=admin, data={"name": name, "name_en": name, "kind": kind, "points": points, **data}
    )


@pytest.fixture
def figures(admin, rep, rep2, customer):
    """rep owns 张三 (A); rep2 owns B, C (no membership), D (a member with nothing yet) and
    seven members E1..E7 given 100 points each."""
    keys = reports.month_keys(12)
    three_back = keys[-4] + dt.timedelta(days=10)
    # A: 500 + 100 (first order) three months back; 200 now; +50 and -20 adjusted; a coupon.
    make_order(rep, customer, total="500", ordered_at=three_back.isoformat())
    make_order(rep, customer, total="200")
    services.points_adjust(actor=admin, customer=customer, points=50, reason="goodwill")
    services.points_adjust(actor=admin, customer=customer, points=-20, reason="correction")
    coupon300 = reward(admin, "coupon 300", "coupon", 300, value="30")  # ¥0.10 a point
    coupon1000 = reward(admin, "coupon 1000", "coupon", 1000, value="50")  # ¥0.05 a point
    # A discount's value is a percentage: it gives points no value in yuan.
    discount = reward(admin, "discount", "discount", 1000, value="5", min_tier="platinum")
    gift50 = reward(admin, "gift 50", "gift", 50)
    services.reward_redeem(actor=admin, customer=customer, reward_id=coupon300.pk)
    # B: 100 + 100 that expired two months back (24 months after); 6000 now, which makes B gold.
    b = make_customer(rep2, name="B")
    expired_at = keys[-3] + dt.timedelta(days=5)
    make_order(rep2, b, total="100", ordered_at=add_months(expired_at, -24).isoformat())
    assert services.points_expire() == {"members": 1, "points": 200}
    make_order(rep2, b, total="6000")
    make_customer(rep2, name="C")
    services.member_enrol(actor=admin, customer=make_customer(rep2, name="D"))
    extras = [make_customer(rep2, name=f"E{i}") for i in range(1, 8)]
    for extra in extras:
        services.member_enrol(actor=admin, customer=extra)
        services.points_adjust(actor=admin, customer=extra, points=100, reason="welcome")
    services.reward_redeem(actor=admin, customer=extras[0], reward_id=gift50.pk)
    return {
        "keys": keys,
        "coupon300": coupon300,
        "coupon1000": coupon1000,
        "discount": discount,
        "gift50": gift50,
    }


def month(rows, key):
    return next(r for r in rows if r["month"] == key)


def test_points_per_month_count_issued_redeemed_and_expired(admin, figures):
    rows = reports.points_per_month(actor=admin)
    keys = figures["keys"]
    assert [r["month"] for r in rows] == keys
    this = month(rows, keys[-1])
    # issued: A 200 + 50, B 6000, E1..E7 700; redeemed: A 300, E1 50
    assert (this["issued"], this["redeemed"], this["expired"]) == (6950, 350, 0)
    assert (month(rows, keys[-3])["issued"], month(rows, keys[-3])["expired"]) == (0, 200)
    assert (month(rows, keys[-4])["issued"], month(rows, keys[-4])["redeemed"]) == (600, 0)
    assert sum(r["issued"] for r in rows) == 6950 + 600  # B's old lot is out of the window


def test_participation_counts_members_customers_and_the_active(admin, figures):
    share = reports.participation(actor=admin)
    # 11 customers (A, B, C, D, E1..E7); C is no member; D has done nothing.
    assert (share["customers"], share["members"], share["active"]) == (11, 10, 9)
    assert share["participation"] == pytest.approx(10 / 11)


def test_liability_is_the_positive_balances_at_the_lowest_coupon_value(admin, figures):
    owed = reports.liability(actor=admin)
    # A 530, B 6000, E1 50, E2..E7 600
    assert owed["points"] == 7180
    assert owed["holders"] == 9
    assert owed["point_value"] == Decimal("0.05")
    assert owed["yuan"] == Decimal("359.00")


def test_liability_without_a_valued_coupon_is_in_points_only(admin, customer, rep):
    make_order(rep, customer, total="100")
    reward(admin, "gift", "gift", 10)
    owed = reports.liability(actor=admin)
    assert (owed["points"], owed["point_value"], owed["yuan"]) == (200, None, None)


def test_rewards_redeemed_by_fewer_than_15_percent_of_those_eligible_are_flagged(admin, figures):
    rates = {r["reward"].pk: r for r in reports.reward_redemption_rates(actor=admin)}
    gift = rates[figures["gift50"].pk]
    # E1 redeemed it; A, B and E1..E7 can have it → 1 of 9
    assert (gift["redeemers"], gift["eligible"], gift["replace"]) == (1, 9, True)
    assert gift["rate"] == pytest.approx(1 / 9)
    coupon = rates[figures["coupon300"].pk]
    assert (coupon["redeemers"], coupon["eligible"], coupon["replace"]) == (1, 2, False)
    assert rates[figures["coupon1000"].pk]["eligible"] == 1  # only B has 1000 points
    assert rates[figures["coupon1000"].pk]["replace"] is True
    discount = rates[figures["discount"].pk]  # platinum only: nobody is eligible
    assert (discount["eligible"], discount["rate"], discount["replace"]) == (0, None, False)


def test_tiers_and_tier_moves(admin, rep, figures):
    tiers = {t["tier"].key: t["members"] for t in reports.tier_distribution(actor=admin)}
    assert tiers == {"silver": 9, "gold": 1, "platinum": 0}
    moves = reports.tier_moves_per_month(actor=admin)
    assert month(moves, figures["keys"][-1])["upgrade"] == 1
    assert sum(m["upgrade"] for m in reports.tier_moves_per_month(actor=rep)) == 0


def test_the_referral_funnel(admin, rep, rep2, customer):
    make_order(rep, customer, total="100")
    a = Member.objects.get(customer=customer)
    b_customer = make_customer(rep2, name="B")
    make_order(rep2, b_customer, total="100")
    b = Member.objects.get(customer=b_customer)
    for i, phone in enumerate(["13700000001", "13700000002", "13700000003"]):
        services.referral_sign_up(code=a.referral_code, data={"name": f"R{i}", "phone": phone},
                                  device_id=f"device-{i}")  # fmt: skip
    services.referral_sign_up(
        code=b.referral_code, data={"name": "R9", "phone": "13700000009"}, device_id="device-9"
    )
    from guanxi.customers.models import Customer

    make_order(rep, Customer.objects.get(name="R1"), total="50", status="pending")
    make_order(rep, Customer.objects.get(name="R2"), total="50", status="completed")
    funnel = reports.referral_funnel(actor=admin)
    assert (funnel["signed_up"], funnel["ordered"], funnel["converted"]) == (4, 2, 1)
    assert funnel["success_rate"] == pytest.approx(1 / 4)
    mine = reports.referral_funnel(actor=rep)
    assert (mine["signed_up"], mine["ordered"], mine["converted"]) == (3, 2, 1)


def test_a_rep_sees_only_their_own_members_figures(rep, figures):
    share = reports.participation(actor=rep)
    assert (share["customers"], share["members"], share["active"]) == (1, 1, 1)
    this = month(reports.points_per_month(actor=rep), figures["keys"][-1])
    assert (this["issued"], this["redeemed"], this["expired"]) == (250, 300, 0)
    assert sum(r["expired"] for r in reports.points_per_month(actor=rep)) == 0
    assert reports.liability(actor=rep)["points"] == 530
    rates = {r["reward"].pk: r for r in reports.reward_redemption_rates(actor=rep)}
    gift = rates[figures["gift50"].pk]  # E1's redemption is not the rep's to see
    assert (gift["redeemers"], gift["eligible"], gift["replace"]) == (0, 1, True)
    assert rates[figures["coupon300"].pk]["rate"] == 1
    tiers = {t["tier"].key: t["members"] for t in reports.tier_distribution(actor=rep)}
    assert tiers == {"silver": 1, "gold": 0, "platinum": 0}


def test_the_figures_take_a_fixed_number_of_queries(admin, figures, django_assert_num_queries):
    """One query per figure, whatever the number of members, months or rewards."""
    reward(admin, "one more", "gift", 70)
    with django_assert_num_queries(12):
        reports.overview(actor=admin)


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_analytics_page_renders_for_an_admin(client, admin, figures, language):
    client.force_login(admin)
    response = client.get(analytics_url(), headers={"accept-language": language})
    assert response.status_code == 200
    text = response.content.decode()
    assert f'<html lang="{language}"' in text
    assert 'id="chart-points"' in text and 'id="chart-referrals"' in text
    assert text.count('class="gx-flag"') == 2  # gift 50 and coupon 1000
    assert "7,180" in text and "¥359.00" in text
    if language == "zh-hans":
        assert "银卡会员" in text
    else:
        assert "Silver" in text


@pytest.mark.urls(__name__)
def test_a_rep_sees_the_page_with_their_figures_only(client, rep, figures):
    client.force_login(rep)
    response = client.get(analytics_url())
    assert response.status_code == 200
    assert "7,180" not in response.content.decode()


@pytest.mark.urls(__name__)
def test_the_page_needs_a_staff_login(client):
    response = client.get(analytics_url())
    assert response.status_code == 302 and "/login/" in response["Location"]
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    with pytest.raises(Http404):
        _page(request)
