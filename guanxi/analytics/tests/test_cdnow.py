"""The published CDNOW results, reproduced end to end: the raw transactions of the 2,357
sample customers imported as orders (`guanxi import orders`), the value refreshed as of
1997-09-30 (`guanxi analytics refresh`), and the fitted models read back from the API.

Fader, Hardie & Lee (2005): BG/NBD r = 0.243, α = 4.414 (weeks), a = 0.793, b = 2.426;
Fader & Hardie (2013): Gamma-Gamma p = 6.25, q = 3.74, γ = 15.44 on the 946 repeat buyers.
"""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from guanxi.customers.services.bulk import PreparedCustomer, customers_bulk_create
from guanxi.imports.tests.helpers import cli, write_file

from .cdnow import cdnow_file

PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def _transactions():
    rows = []
    for line in cdnow_file("CDNOW_sample.txt").read_text().splitlines():
        if line.strip():
            _original, sample_id, day, _cds, dollars = line.split()
            rows.append((int(sample_id), dt.datetime.strptime(day, "%Y%m%d").date(), dollars))
    return rows


@pytest.fixture
def cdnow(admin, tmp_path, settings):
    settings.DATA_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "uploads"
    transactions = _transactions()
    ids = sorted({t[0] for t in transactions})
    customers_bulk_create(
        actor=admin,
        customers=[
            PreparedCustomer(profile={"name": f"CDNOW {i:04d}", "external_id": f"C{i:04d}"})
            for i in ids
        ],
    )
    rows = [["订单号", "客户编号", "下单时间", "金额"]]
    rows += [
        [f"CD{k:05d}", f"C{sample_id:04d}", day.isoformat(), dollars]
        for k, (sample_id, day, dollars) in enumerate(transactions)
    ]
    out, _err = cli("orders", write_file(tmp_path, rows, name="cdnow.csv"))
    assert f"created {len(transactions):,}" in out, out
    return transactions


def refresh_as_of(day: str):
    out = StringIO()
    call_command("guanxi_analytics", "refresh", "--as-of", day, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_bg_nbd_and_gamma_gamma_on_imported_cdnow_orders_give_the_published_parameters(
    api, admin, cdnow
):
    client = api(admin)
    assert client.patch("analytics/settings", {"purchase_model": "bgnbd"}).status_code == 200
    out = refresh_as_of("1997-09-30")
    assert "2,357 customers, 2,357 buyers, 946 repeat buyers" in out, out
    clv = client.get("analytics/clv").json()
    model = clv["model"]
    assert model["name"] == "bgnbd" and model["time_unit"] == "week"
    assert model["as_of"] == "1997-09-30" and model["customers"] == 2357
    for name, published in PUBLISHED_BGNBD.items():
        assert model["parameters"][name] == pytest.approx(published, rel=0.01), name
    assert model["log_likelihood"] == pytest.approx(-9582.4, abs=1.0)
    spend = clv["spend_model"]
    assert spend["customers"] == 946
    for name, published in PUBLISHED_GG.items():
        assert spend["parameters"][name] == pytest.approx(published, rel=0.01), name
    # The orders after the as-of date are the holdout: the model's forecast of them is close.
    holdout = clv["holdout"]
    assert holdout["until"] == "1998-06-30"
    assert holdout["predicted"] == pytest.approx(holdout["actual"], rel=0.15)


def test_the_modified_model_gives_one_time_buyers_a_chance_of_having_left(api, admin, cdnow):
    refresh_as_of("1997-09-30")  # MBG/NBD is the default
    client = api(admin)
    clv = client.get("analytics/clv").json()
    assert clv["model"]["name"] == "mbgnbd"
    from guanxi.analytics.models import CustomerValue

    one_timers = CustomerValue.objects.filter(repeat_purchases=0)
    assert one_timers.count() == 2357 - 946
    assert max(v.p_alive for v in one_timers) < 1.0
