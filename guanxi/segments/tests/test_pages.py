"""The segments pages in the staff UI: list, segment page, rule editor, churn warnings,
tiers, clusters, in English and Chinese, scoped by role."""

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from guanxi.segments.models import ChurnCase, ClusterRun, Segment
from guanxi.segments.services import segment_create
from guanxi.segments.services.lifecycle import lifecycle_run
from tests.factories import PASSWORD, make_customer, make_order

TWO_ORDERS = {"field": "orders.count", "op": "gte", "value": 2, "days": 90}


def ago(days):
    return timezone.now() - dt.timedelta(days=days)


def client_for(user, language="en"):
    c = Client(headers={"accept-language": language})
    assert c.login(username=user.username, password=PASSWORD)
    return c


@pytest.fixture
def shop(rep, far_rep):
    mine = make_customer(rep, name="王忠诚")
    make_order(rep, mine, ordered_at=ago(10))
    make_order(rep, mine, ordered_at=ago(20))
    theirs = make_customer(far_rep, name="周远方")
    make_order(far_rep, theirs, ordered_at=ago(5))
    make_order(far_rep, theirs, ordered_at=ago(6))
    return {"mine": mine, "theirs": theirs}


def test_the_list_shows_counts_scoped_to_the_viewer(admin, rep, shop):
    segment_create(actor=admin, data={"name": "复购", "definition": TWO_ORDERS})
    page = client_for(admin).get("/admin/segments/segment/")
    assert page.status_code == 200 and "复购" in page.text
    assert "Discount-sensitive" in page.text  # the seeded behaviour tags
    mine = client_for(rep).get("/admin/segments/segment/")
    row = next(line for line in mine.text.splitlines() if "复购" in line or "2</" in line)
    assert row  # rendered
    seg = Segment.objects.get(name="复购")
    detail = client_for(rep).get(f"/admin/segments/segment/{seg.pk}/change/")
    assert detail.status_code == 200
    assert "王忠诚" in detail.text and "周远方" not in detail.text
    assert "Number of orders ≥ 2" in detail.text


def test_the_editor_saves_rules_and_names_bad_ones(admin):
    c = client_for(admin)
    page = c.get("/admin/segments/segment/add/")
    assert page.status_code == 200 and 'id="rule-builder"' in page.text
    fields = json.loads(page.context["catalogue"] and json.dumps(page.context["catalogue"]))
    assert any(f["key"] == "orders.count" for f in fields)
    bad = c.post(
        "/admin/segments/segment/add/",
        {"name": "坏", "kind": "dynamic", "purpose": "segment",
         "definition": json.dumps({"all": [{"field": "colour", "op": "eq", "value": 1}]})},
    )  # fmt: skip
    assert bad.status_code == 200
    assert "definition.all[0].field" in bad.text and "colour" in bad.text
    assert not Segment.objects.filter(name="坏").exists()
    broken = c.post(
        "/admin/segments/segment/add/",
        {"name": "坏", "kind": "dynamic", "purpose": "segment", "definition": "{nope"},
    )
    assert "Not valid JSON" in broken.text
    ok = c.post(
        "/admin/segments/segment/add/",
        {"name": "好", "name_en": "Good", "kind": "dynamic", "purpose": "segment",
         "definition": json.dumps(TWO_ORDERS)},
    )  # fmt: skip
    seg = Segment.objects.get(name="好")
    assert ok.status_code == 302 and ok.url.endswith(f"/segment/{seg.pk}/change/")
    assert seg.name_en == "Good" and seg.depends == ["orders", "time"]


def test_a_rep_cannot_open_the_editor_or_act(admin, rep, shop):
    seg = segment_create(actor=admin, data={"name": "复购", "definition": TWO_ORDERS})
    c = client_for(rep)
    assert c.get("/admin/segments/segment/add/").status_code == 404
    assert c.get(f"/admin/segments/segment/{seg.pk}/edit/").status_code == 404
    c.post(f"/admin/segments/segment/{seg.pk}/delete/do/")
    assert Segment.objects.filter(pk=seg.pk).exists()


def test_refresh_and_freeze_from_the_page(admin, shop):
    seg = segment_create(actor=admin, data={"name": "复购", "definition": TWO_ORDERS})
    c = client_for(admin)
    r = c.post(f"/admin/segments/segment/{seg.pk}/refresh/do/", follow=True)
    assert "Refreshed in" in r.text
    r = c.post(f"/admin/segments/segment/{seg.pk}/freeze/do/", {"name": "复购快照"}, follow=True)
    frozen = Segment.objects.get(name="复购快照")
    assert frozen.kind == "static" and frozen.member_count == 2


def test_the_churn_page_lists_reasons_most_value_first_in_both_languages(admin, rep, far_rep):
    for owner, name, total in [(rep, "低值", "100.00"), (far_rep, "高值", "9000.00")]:
        c = make_customer(owner, name=name)
        make_order(owner, c, ordered_at=ago(120), total=total)
    lifecycle_run()
    assert ChurnCase.objects.count() == 2
    page = client_for(admin).get("/admin/segments/churncase/")
    assert page.status_code == 200
    assert page.text.index("高值") < page.text.index("低值")
    assert "No order for 120 days" in page.text
    zh = client_for(admin, "zh-hans").get("/admin/segments/churncase/")
    assert "流失预警" in zh.text
    mine = client_for(rep).get("/admin/segments/churncase/")
    assert "低值" in mine.text and "高值" not in mine.text
    assert client_for(rep).get("/admin/segments/churncase/settings/").status_code == 404
    assert client_for(admin).get("/admin/segments/churncase/settings/").status_code == 200


def test_the_tiers_page_evaluates_and_reports(admin, rep, shop):
    c = client_for(admin)
    page = c.get("/admin/segments/tierevaluation/")
    assert page.status_code == 200 and "VIP" in page.text
    r = c.post("/admin/segments/tierevaluation/evaluate/", follow=True)
    assert r.status_code == 200 and "Who moved, and why" in r.text
    assert (
        client_for(rep).post("/admin/segments/tierevaluation/evaluate/", follow=True).status_code
        == 200
    )
    assert client_for(rep).get("/admin/segments/tierevaluation/tiers/add/").status_code == 404


def test_clustering_from_the_page_saves_clusters_as_segments(admin, rep, immediate_tasks):
    from guanxi.analytics.services import value_refresh

    for i in range(30):
        c = make_customer(rep, name=f"客户{i}")
        for j in range(1 + i % 4):
            make_order(rep, c, ordered_at=ago(5 + 40 * j + i), total=f"{100 + 250 * (i % 3)}.00")
    value_refresh(actor=admin)
    with immediate_tasks(execute=True):
        r = client_for(admin).post("/admin/segments/clusterrun/", {"k": "3"})
    assert r.status_code == 302
    run = ClusterRun.objects.get()
    assert run.status == "done", run.error
    assert run.k == 3 and run.customers == 30
    assert sum(c["size"] for c in run.clusters) == 30
    segments = Segment.objects.filter(source=f"cluster:{run.pk}")
    assert segments.count() == 3 and {s.kind for s in segments} == {"static"}
    page = client_for(admin).get("/admin/segments/clusterrun/")
    assert "3 clusters of 30 customers" in page.text
    bad = client_for(admin).post("/admin/segments/clusterrun/", {"k": "40"}, follow=True)
    assert "from 2 to 12" in bad.text
