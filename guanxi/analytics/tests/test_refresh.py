"""The value refresh through its public surfaces: the CLI, the API and the stored figures."""

import datetime as dt
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from guanxi.analytics.models import CustomerValue, CustomerValueChange, ValueRefresh
from tests.factories import make_customer, make_order

SHANGHAI = ZoneInfo("Asia/Shanghai")
AS_OF = dt.date(2026, 6, 30)


def at(day: str, hour=10) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=SHANGHAI)


def refresh(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("guanxi_analytics", "refresh", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def _an_admin(admin):
    """`guanxi analytics` acts as the first admin."""
    return admin


@pytest.fixture
def shop(rep, far_rep, admin):
    """Customers of two reps with orders on known days (as of 2026-06-30)."""
    loyal = make_customer(rep, name="王忠诚")
    for day in ("2026-01-05", "2026-02-10", "2026-03-15", "2026-04-20", "2026-06-01"):
        make_order(rep, loyal, ordered_at=at(day), total="200.00")
    once = make_customer(rep, name="李一次")
    make_order(rep, once, ordered_at=at("2025-08-01"), total="50.00")
    twice_same_day = make_customer(rep, name="赵同日")
    make_order(rep, twice_same_day, ordered_at=at("2026-05-01", 9), total="30.00")
    make_order(rep, twice_same_day, ordered_at=at("2026-05-01", 18), total="70.00")
    never = make_customer(rep, name="孙未购")
    far = make_customer(far_rep, name="周远方")
    for day in ("2025-11-11", "2026-06-18"):
        make_order(far_rep, far, ordered_at=at(day), total="1000.00")
    return {"loyal": loyal, "once": once, "same_day": twice_same_day, "never": never, "far": far}


def test_refresh_from_the_cli_stores_every_customers_figures(shop):
    out, _err = refresh("--as-of", AS_OF.isoformat())
    assert "5 customers, 4 buyers" in out
    loyal = CustomerValue.objects.get(customer=shop["loyal"])
    assert loyal.as_of == AS_OF
    assert loyal.orders == 5 and loyal.repeat_purchases == 4
    assert str(loyal.historical_value) == "1000.00"
    assert str(loyal.average_order_value) == "200.00"
    assert loyal.first_order_on == dt.date(2026, 1, 5)
    assert loyal.last_order_on == dt.date(2026, 6, 1)
    assert loyal.recency_days == 29
    assert 1 <= loyal.r_score <= 5 and 1 <= loyal.f_score <= 5 and 1 <= loyal.m_score <= 5
    assert loyal.segment_cn and loyal.segment_named
    # Two orders on one day are one purchase day: no repeat purchase.
    same_day = CustomerValue.objects.get(customer=shop["same_day"])
    assert (same_day.orders, same_day.repeat_purchases) == (2, 0)
    never = CustomerValue.objects.get(customer=shop["never"])
    assert never.orders == 0 and never.r_score is None and never.segment_cn == ""
    assert never.lifetime_value is None and never.p_alive is None


def test_the_api_answers_a_customers_value_with_its_as_of_date(api, rep, shop):
    _a_customer_base(rep)
    refresh("--as-of", AS_OF.isoformat())
    body = api(rep).get(f"customers/{shop['loyal'].pk}/value").json()
    assert body["computed"] is True and body["as_of"] == "2026-06-30"
    assert body["orders"] == 5 and body["historical_value"] == "1000.00"
    assert body["segment"] == body["segment_cn"] and body["segment_label"]
    assert body["model"] == "mbgnbd", ValueRefresh.objects.get().diagnostics  # the default
    assert 0 < body["p_alive"] <= 1 and float(body["lifetime_value"]) > 0
    assert body["purchases_90"] < body["purchases_365"]
    assert float(body["value_365"]) == pytest.approx(
        body["purchases_365"] * float(body["expected_order_value"]), rel=1e-3, abs=0.01
    )


def test_a_customer_without_a_refresh_has_empty_figures(api, rep, customer):
    body = api(rep).get(f"customers/{customer.pk}/value").json()
    assert body["computed"] is False and body["as_of"] is None and body["orders"] is None


def test_a_rep_cannot_read_another_reps_customer_value(api, rep, shop):
    refresh("--as-of", AS_OF.isoformat())
    assert api(rep).get(f"customers/{shop['far'].pk}/value").status_code == 404


def test_segment_figures_are_scoped_to_the_viewer(api, rep, far_rep, admin, shop):
    refresh("--as-of", AS_OF.isoformat())
    mine = api(rep).get("analytics/rfm").json()
    everyone = api(admin).get("analytics/rfm").json()
    theirs = api(far_rep).get("analytics/rfm").json()
    assert mine["buyers"] == 3 and theirs["buyers"] == 1 and everyone["buyers"] == 4
    assert mine["revenue"] == 1150.0 and theirs["revenue"] == 2000.0
    assert sum(s["customers"] for s in everyone["segments"]) == 4
    assert len(everyone["segments"]) == 8  # the eight classes, empty ones included
    named = api(admin).get("analytics/rfm", {"scheme": "named"}).json()
    assert named["scheme"] == "named" and "champions" in {s["segment"] for s in named["segments"]}


def test_cancelled_refunded_and_later_orders_do_not_count(rep):
    customer = make_customer(rep, name="钱退款")
    make_order(rep, customer, ordered_at=at("2026-03-01"), total="100.00")
    make_order(rep, customer, ordered_at=at("2026-04-01"), total="999.00", status="refunded")
    make_order(rep, customer, ordered_at=at("2026-04-02"), total="999.00", status="cancelled")
    make_order(rep, customer, ordered_at=at("2026-07-01", 0), total="999.00")  # after as-of
    refresh("--as-of", AS_OF.isoformat())
    value = CustomerValue.objects.get(customer=customer)
    assert value.orders == 1 and str(value.historical_value) == "100.00"


def test_the_last_moment_of_the_as_of_day_counts_in_local_time(rep):
    customer = make_customer(rep, name="吴午夜")
    make_order(rep, customer, ordered_at=at("2026-06-30", 23), total="10.00")
    refresh("--as-of", AS_OF.isoformat())
    assert CustomerValue.objects.get(customer=customer).last_order_on == AS_OF


def test_zero_amount_orders_count_as_purchases_without_value(rep):
    customer = make_customer(rep, name="郑赠品")
    make_order(rep, customer, ordered_at=at("2026-01-01"), total="0.00")
    make_order(rep, customer, ordered_at=at("2026-02-01"), total="0.00")
    refresh("--as-of", AS_OF.isoformat())
    value = CustomerValue.objects.get(customer=customer)
    assert value.orders == 2 and str(value.historical_value) == "0.00"


def _a_customer_base(rep, n=80, seed=7):
    """`n` customers whose purchases follow the BG/NBD story (a purchase rate per week and a
    chance of leaving after each purchase), first buying in the year before as-of."""
    import numpy as np

    rng = np.random.default_rng(seed)
    for k in range(n):
        customer = make_customer(rep, name=f"客户{k}")
        rate, leave = rng.gamma(0.8, 1 / 2.0), rng.beta(1.0, 3.0)
        day = float(rng.integers(0, 330))
        while day < 365:
            ordered = AS_OF - dt.timedelta(days=364 - int(day))
            make_order(rep, customer, ordered_at=at(ordered.isoformat()),
                       total=f"{rng.gamma(4.0, 15.0):.2f}")  # fmt: skip
            if rng.random() < leave:
                break
            day += 1 + rng.exponential(7 / max(rate, 1e-3))


def test_a_customer_with_hundreds_of_orders_gets_finite_predictions(rep):
    heavy = make_customer(rep, name="冯常客")
    start = AS_OF - dt.timedelta(days=300)  # a purchase every day, to the day before as-of
    for k in range(300):
        make_order(rep, heavy, ordered_at=at((start + dt.timedelta(days=k)).isoformat()),
                   total="20.00")  # fmt: skip
    _a_customer_base(rep)
    refresh("--as-of", AS_OF.isoformat())
    value = CustomerValue.objects.get(customer=heavy)
    assert value.repeat_purchases == 299
    assert value.p_alive is not None and 0.0 <= value.p_alive <= 1.0, (
        ValueRefresh.objects.get().diagnostics
    )
    assert value.purchases_365 is not None and value.purchases_365 > 50
    assert value.lifetime_value is not None and value.lifetime_value > 0


def test_too_few_buyers_get_scores_but_no_model(api, admin, rep):
    for k in range(3):
        c = make_customer(rep, name=f"少{k}")
        make_order(rep, c, ordered_at=at("2026-01-01"), total="10.00")
        make_order(rep, c, ordered_at=at("2026-03-01"), total="10.00")
    refresh("--as-of", AS_OF.isoformat())
    value = CustomerValue.objects.first()
    assert value.r_score is not None and value.lifetime_value is None
    clv = api(admin).get("analytics/clv").json()
    assert clv["model"] is None and "too few" in clv["problems"][0]


def test_scores_are_kept_as_history_when_they_change(api, rep):
    a, b = make_customer(rep, name="甲"), make_customer(rep, name="乙")
    make_order(rep, a, ordered_at=at("2026-01-01"), total="100.00")
    make_order(rep, b, ordered_at=at("2026-05-01"), total="500.00")
    refresh("--as-of", "2026-05-31")
    assert CustomerValueChange.objects.count() == 2
    refresh("--as-of", "2026-06-15")  # nothing new: the scores stay, no history is written
    assert CustomerValueChange.objects.count() == 2
    for day in ("2026-06-01", "2026-06-05", "2026-06-10"):
        make_order(rep, a, ordered_at=at(day), total="300.00")
    refresh("--as-of", AS_OF.isoformat())
    changed = CustomerValueChange.objects.filter(customer=a).order_by("as_of")
    assert [c.as_of for c in changed] == [dt.date(2026, 5, 31), AS_OF]
    history = api(rep).get(f"customers/{a.pk}/value").json()["history"]
    assert [h["as_of"] for h in history] == ["2026-06-30", "2026-05-31"]
    assert history[0]["segment"] and history[0]["segment_label"]


def test_a_future_as_of_date_is_refused_naming_the_field(api, manager, capsys):
    response = api(manager).post("analytics/refresh", {"as_of": "2999-01-01"})
    assert response.status_code == 422
    assert "as_of" in response.json()["errors"]
    with pytest.raises(SystemExit):
        call_command("guanxi_analytics", "refresh", "--as-of", "2026-13-45")
    assert "as_of" in capsys.readouterr().err


def test_reps_may_not_refresh_and_managers_queue_a_refresh(api, rep, manager, shop,
                                                           immediate_tasks):  # fmt: skip
    assert api(rep).post("analytics/refresh", {}).status_code == 403
    with immediate_tasks(execute=True):
        response = api(manager).post("analytics/refresh", {"as_of": AS_OF.isoformat()})
    assert response.status_code == 202
    done = api(manager).get(f"analytics/refreshes/{response.json()['id']}").json()
    assert done["status"] == "done" and done["customers"] == 5
    assert CustomerValue.objects.count() == 5
    assert api(rep).get(f"analytics/refreshes/{done['id']}").status_code == 404


def test_months_and_churn_rate(api, admin, rep):
    # Three customers start in January; one stops (no order for 60 days) in April.
    customers = [make_customer(rep, name=n) for n in ("一", "二", "三")]
    for c in customers:
        make_order(rep, c, ordered_at=at("2026-01-10"), total="100.00")
    for c in customers[:2]:
        for day in ("2026-03-01", "2026-04-25", "2026-06-20"):
            make_order(rep, c, ordered_at=at(day), total="50.00")
    api(admin).patch("analytics/settings", {"churn_days": 60})
    refresh("--as-of", AS_OF.isoformat())
    months = {m["month"]: m for m in api(admin).get("analytics/months").json()}
    assert months["2026-01"]["revenue"] == 300.0 and months["2026-01"]["new_buyers"] == 3
    assert months["2026-01"]["average_order_value"] == 100.0
    assert months["2026-03"]["buyers"] == 2 and months["2026-03"]["orders"] == 2
    # The third customer's last order (Jan 10) + 60 days = Mar 11: churned in March.
    assert months["2026-03"]["churned"] == 1
    assert months["2026-03"]["active_at_start"] == 3
    assert months["2026-03"]["churn_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert months["2026-04"]["churned"] == 0


def test_cohort_retention(api, admin, rep):
    jan = [make_customer(rep, name=f"一月{k}") for k in range(4)]
    for c in jan:
        make_order(rep, c, ordered_at=at("2026-01-15"), total="10.00")
    make_order(rep, jan[0], ordered_at=at("2026-02-15"), total="10.00")
    make_order(rep, jan[1], ordered_at=at("2026-03-15"), total="10.00")
    make_order(rep, jan[0], ordered_at=at("2026-03-16"), total="10.00")
    refresh("--as-of", AS_OF.isoformat())
    body = api(admin).get("analytics/cohorts").json()
    [row] = body["cohorts"]
    assert row["cohort"] == "2026-01" and row["customers"] == 4
    assert row["active"] == [4, 1, 2]
    assert row["retention"] == [1.0, 0.25, 0.5]


def test_pareto_share_of_the_best_fifth(api, admin, rep):
    for k in range(10):
        c = make_customer(rep, name=f"帕{k}")
        make_order(rep, c, ordered_at=at("2026-03-01"), total="1000.00" if k < 2 else "100.00")
    refresh("--as-of", AS_OF.isoformat())
    body = api(admin).get("analytics/pareto").json()
    assert body["buyers"] == 10 and body["revenue"] == 2800.0
    assert body["top_20_share"] == pytest.approx(2000 / 2800, abs=0.01)
    assert body["curve"][-1] == {"customers": 1.0, "revenue": 1.0}


def test_settings_are_validated_field_by_field(api, admin, manager):
    response = api(admin).patch(
        "analytics/settings", {"high_score": 9, "churn_days": 0, "purchase_model": "nope"}
    )
    assert response.status_code == 422
    assert {"high_score", "churn_days", "purchase_model"} <= set(response.json()["errors"])
    assert api(manager).patch("analytics/settings", {"high_score": 3}).status_code == 403
    ok = api(admin).patch("analytics/settings", {"high_score": 3, "segment_scheme": "named"})
    assert ok.status_code == 200 and ok.json()["high_score"] == 3


def test_a_failed_refresh_keeps_the_previous_figures(rep, shop, monkeypatch):
    refresh("--as-of", AS_OF.isoformat())
    before = CustomerValue.objects.get(customer=shop["loyal"]).historical_value
    from guanxi.analytics import services

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "_write_values", broken)
    with pytest.raises(RuntimeError):
        refresh("--as-of", "2026-06-29")
    failed = ValueRefresh.objects.order_by("-pk").first()
    assert failed.status == "failed" and "disk full" in failed.error
    value = CustomerValue.objects.get(customer=shop["loyal"])
    assert value.historical_value == before and value.as_of == AS_OF


def test_no_orders_at_all_still_refreshes(api, admin, customer):
    out, _err = refresh()
    assert "1 customers, 0 buyers" in out
    clv = api(admin).get("analytics/clv").json()
    assert clv["model"] is None and clv["problems"]


@pytest.mark.django_db(transaction=True)
def test_forked_readers_read_what_one_reader_reads(rep, admin, monkeypatch):
    from django.db import connection

    from guanxi.analytics import summary

    if connection.vendor == "sqlite":
        pytest.skip("the SQLite test database is in memory: forked readers cannot open it")
    _a_customer_base(rep, n=30)
    one = summary.read(as_of=AS_OF, churn_days=90)
    monkeypatch.setattr(summary, "PARALLEL_FROM", 1)
    forked = summary.read(as_of=AS_OF, churn_days=90)
    for name in ("buyer_ids", "days", "orders", "first_day", "last_day", "revenue"):
        assert getattr(forked, name).tolist() == getattr(one, name).tolist(), name
    assert sorted(forked.months) == sorted(one.months)
    assert sorted(forked.cohorts) == sorted(one.cohorts)


def test_the_customer_list_filters_and_sorts_by_value(api, admin, rep, shop):
    _a_customer_base(rep, n=30)
    refresh("--as-of", AS_OF.isoformat())
    client = api(admin)
    ranked = client.get("customers", {"sort": "-lifetime_value", "limit": 100}).json()["items"]
    values = [float(c["value"]["lifetime_value"]) for c in ranked if c["value"]["lifetime_value"]]
    assert values == sorted(values, reverse=True) and len(values) > 10
    assert ranked[-1]["value"]["lifetime_value"] is None  # never bought: last
    loyal = shop["loyal"]
    segment = CustomerValue.objects.get(customer=loyal).segment_cn
    listed = client.get("customers", {"segment": segment, "limit": 200}).json()
    assert loyal.pk in {c["id"] for c in listed["items"]}
    assert all(c["value"]["segment_cn"] == segment for c in listed["items"])
    rich = client.get("customers", {"historical_value": "1000-", "limit": 200}).json()["items"]
    assert {shop["loyal"].pk, shop["far"].pk} <= {c["id"] for c in rich}
    assert all(float(c["value"]["historical_value"]) >= 1000 for c in rich)
    assert client.get("customers", {"ordered_in": "2025-11"}).json()["count"] >= 1
    august = client.get("customers", {"first_order_month": "2025-08", "limit": 200}).json()
    assert shop["once"].pk in {c["id"] for c in august["items"]}
    assert all(c["value"]["as_of"] == "2026-06-30" for c in august["items"])
    bad = client.get("customers", {"p_alive": "high", "segment": "vip"})
    assert bad.status_code == 422 and {"p_alive", "segment"} <= set(bad.json()["errors"])
    # A rep's list never shows another rep's customer, whatever the value filter.
    theirs = api(rep).get("customers", {"historical_value": "1000-", "limit": 200}).json()
    assert shop["loyal"].pk in {c["id"] for c in theirs["items"]}
    assert shop["far"].pk not in {c["id"] for c in theirs["items"]}
    assert all(c["owner"] == rep.pk for c in theirs["items"])


def test_the_value_dashboard_and_the_360_card_in_both_languages(client, admin, rep, shop):
    from django.urls import reverse

    _a_customer_base(rep, n=30)
    refresh("--as-of", AS_OF.isoformat())
    client.force_login(admin)
    url = reverse("admin:analytics_value_dashboard")
    zh = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "客户价值" in zh and "重要价值客户" in zh and "按首单月份的同期群留存" in zh
    en = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Cohort retention by first-order month" in en and "data-links=" in en
    assert "customers/customer/value/?segment=" in en and "ordered_in=2026-06" in en
    page = client.get(reverse("admin:customers_customer_360", args=[shop["loyal"].pk]),
                      HTTP_ACCEPT_LANGUAGE="en").content.decode()  # fmt: skip
    card = page[page.index('id="value"') : page.index("</section>", page.index('id="value"'))]
    assert "as of 2026-06-30" in card and "P(alive)" in card and "R" in card
    # Drilling into a bar: the customer list's value view, filtered by that segment.
    segment = CustomerValue.objects.get(customer=shop["loyal"]).segment_cn
    value_list = reverse("admin:customers_customer_value_list")
    listed = client.get(value_list, {"segment": segment}, HTTP_ACCEPT_LANGUAGE="en")
    body = listed.content.decode()
    assert listed.status_code == 200 and "王忠诚" in body and "¥1,000.00" in body
    assert "Predicted lifetime value" in body and "P(alive)" in body and "Recency" in body
    # By default sorted by predicted lifetime value, highest first; so is column 10 reversed.
    assert client.get(value_list).content.decode().index("王忠诚") < (
        client.get(value_list).content.decode().index("孙未购")
    )
    ranked = client.get(value_list, {"o": "-10"}).content.decode()
    assert ranked.index("王忠诚") < ranked.index("孙未购")  # never bought: after
    bad = client.get(value_list, {"lifetime_value": "lots"})
    assert bad.status_code in (200, 302)  # the admin's "?e=1": the filter is ignored, no 500


def test_a_rep_sees_a_dashboard_of_their_own_customers(client, rep, far_rep, shop):
    from django.urls import reverse

    refresh("--as-of", AS_OF.isoformat())
    client.force_login(far_rep)
    body = client.get(reverse("admin:analytics_value_dashboard")).content.decode()
    assert "¥2,000.00" in body  # far_rep's one customer bought 2 × 1,000
    assert "Refresh now" not in body  # reps may not refresh
    assert client.post(reverse("admin:analytics_value_refresh")).status_code == 302
    assert ValueRefresh.objects.filter(status="queued").count() == 0


def test_the_settings_page_names_a_bad_field_and_saves_good_ones(client, admin, manager):
    from django.urls import reverse

    from guanxi.analytics.models import AnalyticsSettings

    url = reverse("admin:analytics_value_settings")
    client.force_login(manager)
    assert client.get(url).status_code == 404  # admins only
    client.force_login(admin)
    form = {"segment_scheme": "named", "high_score": "4", "active_days": "0",
            "purchase_model": "bgnbd", "churn_days": "0", "lifetime_years": "3",
            "discount_rate": "0.1", "nightly": "on", "nightly_hour": "2"}  # fmt: skip
    body = client.post(url, form).content.decode()
    assert 'data-field="churn_days"' in body
    assert AnalyticsSettings.current().churn_days == 180  # nothing saved
    response = client.post(url, form | {"churn_days": "90"})
    assert response.status_code == 302
    saved = AnalyticsSettings.current()
    assert (saved.churn_days, saved.segment_scheme, saved.purchase_model) == (90, "named", "bgnbd")


def test_refresh_now_from_the_dashboard_queues_a_refresh(client, manager, immediate_tasks):
    from django.urls import reverse

    client.force_login(manager)
    with immediate_tasks(execute=True):
        response = client.post(reverse("admin:analytics_value_refresh"), {"as_of": "2026-06-30"})
    assert response.status_code == 302
    done = ValueRefresh.objects.get()
    assert done.status == "done" and done.requested_by == manager
    bad = client.post(reverse("admin:analytics_value_refresh"), {"as_of": "2999-01-01"},
                      follow=True)  # fmt: skip
    assert "as_of: The as-of date cannot be in the future." in bad.content.decode()
    page = client.get(reverse("admin:analytics_valuerefresh_change", args=[done.pk]))
    assert page.status_code == 200 and "Timings" in page.content.decode()


def test_the_nightly_refresh_runs_once_a_day_after_its_hour(rep, shop):
    from guanxi.analytics.models import AnalyticsSettings
    from guanxi.analytics.services import value_refresh_nightly
    from guanxi.tasks import PERIODIC, refresh_values_nightly

    assert PERIODIC["nightly-values"][0] is refresh_values_nightly
    early = dt.datetime.combine(dt.date.today(), dt.time(1, 30), tzinfo=SHANGHAI)
    late = early + dt.timedelta(hours=2)
    assert value_refresh_nightly(now=early) is None  # before 02:00
    done = value_refresh_nightly(now=late)
    assert done.status == "done" and done.requested_by is None and done.customers == 5
    assert value_refresh_nightly(now=late + dt.timedelta(hours=1)) is None  # once a day
    settings = AnalyticsSettings.current()
    settings.nightly = False
    settings.save()
    assert value_refresh_nightly(now=late + dt.timedelta(days=1)) is None  # switched off


def test_the_customer_export_carries_the_value_figures(api, admin, rep, shop):
    import csv
    import io

    refresh("--as-of", AS_OF.isoformat())
    response = api(rep).get("customers/export", {"format": "csv"})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = {r["Name"]: r for r in csv.DictReader(io.StringIO(text))}
    assert "周远方" not in rows  # another rep's customer: not exported
    loyal = rows["王忠诚"]
    assert loyal["Orders"] == "5" and loyal["Historical value"] == "1000.00"
    assert loyal["Value as of"] == "2026-06-30" and loyal["RFM segment"]
    assert rows["孙未购"]["RFM segment"] == "" and rows["孙未购"]["Orders"] == "0"
