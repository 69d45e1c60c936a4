"""Segments through the API and the CLI: create, live count, members, history, access."""

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from guanxi.segments.models import Segment, SegmentMembership
from tests.factories import make_customer, make_order

TWO_ORDERS = {"field": "orders.count", "op": "gte", "value": 2, "days": 90}


def ago(days):
    return timezone.now() - dt.timedelta(days=days)


@pytest.fixture
def shop(rep, far_rep):
    loyal = make_customer(rep, name="王忠诚", addresses=[{"city": "北京"}])
    make_order(rep, loyal, ordered_at=ago(10))
    make_order(rep, loyal, ordered_at=ago(20))
    once = make_customer(rep, name="李一次", addresses=[{"city": "北京"}])
    make_order(rep, once, ordered_at=ago(30))
    far = make_customer(far_rep, name="周远方", addresses=[{"city": "北京"}])
    make_order(far_rep, far, ordered_at=ago(5))
    make_order(far_rep, far, ordered_at=ago(6))
    return {"loyal": loyal, "once": once, "far": far}


def test_a_marketer_creates_a_dynamic_segment_filled_at_once(api, marketer, shop):
    r = api(marketer).post("segments", {"name": "复购客户", "definition": {"all": [TWO_ORDERS]}})
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["members"] == 2 and body["kind"] == "dynamic"
    assert body["depends"] == ["orders", "time"]
    assert "Number of orders ≥ 2" in body["rule"]
    members = api(marketer).get(f"segments/{body['id']}/members").json()
    assert {m["name"] for m in members["items"]} == {"王忠诚", "周远方"}


def test_unknown_field_or_operator_is_a_422_naming_it(api, admin, db):
    r = api(admin).post(
        "segments",
        {"name": "x", "definition": {"all": [{"field": "colour", "op": "eq", "value": 1}]}},
    )
    assert r.status_code == 422
    assert "colour" in r.json()["errors"]["definition.all[0].field"][0]
    r = api(admin).post(
        "segments",
        {"name": "x", "definition": {"any": [{"field": "city", "op": "like", "value": "北"}]}},
    )
    assert r.status_code == 422
    assert "like" in r.json()["errors"]["definition.any[0].op"][0]
    assert not Segment.objects.filter(name="x").exists()


def test_preview_counts_live_scoped_to_the_viewer(api, admin, rep, shop):
    definition = {"field": "city", "op": "eq", "value": "北京"}
    assert api(admin).post("segments/preview", {"definition": definition}).json()["count"] == 3
    own = api(rep).post("segments/preview", {"definition": definition}).json()
    assert own["count"] == 2
    assert {c["name"] for c in own["sample"]} == {"王忠诚", "李一次"}


def test_a_rep_sees_only_their_members_and_counts_and_cannot_write(api, admin, rep, shop):
    seg = api(admin).post("segments", {"name": "北京", "definition": {
        "field": "city", "op": "eq", "value": "北京"}}).json()  # fmt: skip
    assert seg["members"] == 3
    mine = api(rep).get(f"segments/{seg['id']}").json()
    assert mine["members"] == 2
    listed = api(rep).get("segments").json()["items"]
    assert [s["members"] for s in listed if s["id"] == seg["id"]] == [2]
    names = {m["name"] for m in api(rep).get(f"segments/{seg['id']}/members").json()["items"]}
    assert names == {"王忠诚", "李一次"}
    history = api(rep).get(f"segments/{seg['id']}/history").json()
    assert {h["customer_name"] for h in history["items"]} == {"王忠诚", "李一次"}
    assert api(rep).post("segments", {"name": "mine", "definition": {"all": []}}).status_code == 403
    assert api(rep).patch(f"segments/{seg['id']}", {"name": "y"}).status_code == 403
    far = shop["far"].pk
    assert api(rep).get(f"customers/{far}/segments").status_code == 404


def test_an_order_moves_the_customer_into_the_segment_and_history_keeps_it(api, admin, shop):
    seg = api(admin).post("segments", {"name": "复购", "definition": TWO_ORDERS}).json()
    once = shop["once"]
    assert once.pk not in {
        m["id"] for m in api(admin).get(f"segments/{seg['id']}/members").json()["items"]
    }
    make_order(admin, once, ordered_at=ago(1))
    member = SegmentMembership.objects.get(segment_id=seg["id"], customer=once)
    assert member.left_at is None
    assert Segment.objects.get(pk=seg["id"]).member_count == 3
    today = timezone.localdate().isoformat()
    history = (
        api(admin).get(f"segments/{seg['id']}/history", {"since": today, "until": today}).json()
    )
    assert history["joined"] == 3 and history["left"] == 0
    segs = api(admin).get(f"customers/{once.pk}/segments").json()
    assert [s["name"] for s in segs["segments"]] == ["复购"]
    assert "Number of orders ≥ 2" in segs["segments"][0]["rule"]


def test_changing_the_rules_closes_the_spells_of_those_who_no_longer_match(api, admin, shop):
    seg = api(admin).post("segments", {"name": "复购", "definition": TWO_ORDERS}).json()
    r = api(admin).patch(
        f"segments/{seg['id']}",
        {"definition": {"all": [TWO_ORDERS, {"field": "owner", "op": "eq", "value": "rep1"}]}},
    )
    assert r.status_code == 200 and r.json()["members"] == 1
    left = SegmentMembership.objects.get(segment_id=seg["id"], customer=shop["far"])
    assert left.left_at is not None
    today = timezone.localdate().isoformat()
    counts = (
        api(admin).get(f"segments/{seg['id']}/history", {"since": today, "until": today}).json()
    )
    assert (counts["joined"], counts["left"]) == (2, 1)


def test_static_segments_take_visible_customers_and_can_be_frozen(api, admin, rep, shop):
    seg = api(admin).post("segments", {"name": "活动名单", "kind": "static"}).json()
    assert seg["members"] == 0
    ids = [shop["loyal"].pk, shop["far"].pk]
    assert api(admin).post(f"segments/{seg['id']}/members", {"customer_ids": ids}).json() == {
        "count": 2
    }
    assert api(admin).post(
        f"segments/{seg['id']}/members/remove", {"customer_ids": [shop["far"].pk]}
    ).json() == {"count": 1}
    bad = api(admin).post("segments", {"name": "z", "kind": "static", "definition": TWO_ORDERS})
    assert bad.status_code == 422 and "definition" in bad.json()["errors"]
    dyn = api(admin).post("segments", {"name": "复购", "definition": TWO_ORDERS}).json()
    assert (
        api(admin).post(f"segments/{dyn['id']}/members", {"customer_ids": ids}).status_code == 422
    )
    frozen = api(admin).post(f"segments/{dyn['id']}/freeze", {"name": "复购 12月"})
    assert frozen.status_code == 201 and frozen.json()["members"] == 2
    assert frozen.json()["kind"] == "static"


def test_a_segment_named_by_another_cannot_be_deleted(api, admin, shop):
    base = api(admin).post("segments", {"name": "复购", "definition": TWO_ORDERS}).json()
    nested = api(admin).post(
        "segments",
        {"name": "复购北京", "definition": {"all": [
            {"field": "segment", "op": "in", "value": [base["id"]]},
            {"field": "city", "op": "eq", "value": "北京"},
        ]}},
    )  # fmt: skip
    assert nested.status_code == 201 and nested.json()["members"] == 2
    r = api(admin).delete(f"segments/{base['id']}")
    assert r.status_code == 409 and "复购北京" in r.json()["errors"]["segment"][0]
    assert api(admin).delete(f"segments/{nested.json()['id']}").status_code == 204
    assert api(admin).delete(f"segments/{base['id']}").status_code == 204


def test_fields_list_every_family(api, rep, db):
    keys = {f["key"] for f in api(rep).get("segments/fields").json()}
    assert {"city", "tags", "stage", "owner", "value.p_alive", "value.segment",
            "orders.count", "orders.category", "events.count", "interactions.count",
            "segment"} <= keys  # fmt: skip


def cli(*args):
    out, err = StringIO(), StringIO()
    try:
        call_command("guanxi_segments", *args, stdout=out, stderr=err)
    except SystemExit as e:
        return e.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_the_cli_creates_counts_refreshes_and_names_bad_rules(admin, shop, tmp_path):
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"all": [TWO_ORDERS]}), encoding="utf-8")
    code, out, _err = cli("count", "--rules", f"@{rules}")
    assert code == 0 and "2 customers" in out
    code, out, _err = cli("create", "--name", "复购", "--rules", f"@{rules}")
    assert code == 0 and "2 members" in out
    code, out, _err = cli("refresh")
    assert code == 0 and "segments refreshed" in out
    code, out, _err = cli("show", "复购")
    assert code == 0 and "王忠诚" in out
    code, _out, err = cli("count", "--rules", '{"field": "nope", "op": "eq", "value": 1}')
    assert code == 2 and "definition.field" in err and "nope" in err
    code, _out, err = cli("count", "--rules", "{not json")
    assert code == 2 and "rules" in err
    code, out, _err = cli("history", "复购", "--since", "2000-01-01", "--until", "2999-01-01")
    assert code == 0 and "Joined: 2" in out


def _csv(response):
    import csv
    import io

    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_segments_and_tiers_filter_the_customer_list_and_export(api, admin, rep, shop):
    from guanxi.segments.services.tiers import tier_settings_update, tiers_evaluate

    seg = api(admin).post("segments", {"name": "复购", "definition": TWO_ORDERS}).json()
    ids = {c["id"] for c in api(admin).get("customers", {"in_segment": "复购"}).json()["items"]}
    assert ids == {shop["loyal"].pk, shop["far"].pk}
    mine = {c["id"] for c in api(rep).get("customers", {"in_segment": seg["id"]}).json()["items"]}
    assert mine == {shop["loyal"].pk}
    assert api(admin).get("customers", {"in_segment": "没有这个"}).json()["items"] == []
    tier_settings_update(actor=admin, data={"method": "threshold"})
    tiers_evaluate(actor=admin)
    normal = {c["id"] for c in api(admin).get("customers", {"tier": "普通"}).json()["items"]}
    assert shop["loyal"].pk in normal
    rows = _csv(api(admin).get("customers/export.csv", {"in_segment": seg["id"]}))
    header, body = rows[0], rows[1:]
    assert {"Value tier", "Segments", "Behaviour tags"} <= set(header)
    by_name = {r[header.index("Name")]: r for r in body}
    assert set(by_name) == {"王忠诚", "周远方"}
    assert by_name["王忠诚"][header.index("Segments")] == "复购"
    assert by_name["王忠诚"][header.index("Value tier")] == "Normal"


def test_the_360_page_shows_tier_tags_segments_and_the_warning(admin, rep, shop):
    from django.test import Client

    from guanxi.segments.services import segment_create
    from guanxi.segments.services.lifecycle import lifecycle_run
    from guanxi.segments.services.tiers import tiers_evaluate
    from tests.factories import PASSWORD

    segment_create(actor=admin, data={"name": "复购", "definition": TWO_ORDERS})
    quiet = make_customer(rep, name="沉默客户")
    make_order(rep, quiet, ordered_at=ago(150), total="500.00")
    lifecycle_run()
    tiers_evaluate(actor=admin)
    client = Client()
    client.login(username=rep.username, password=PASSWORD)
    page = client.get(f"/admin/customers/customer/{shop['loyal'].pk}/360/")
    assert page.status_code == 200
    assert 'id="segmentation"' in page.text and "复购" in page.text
    assert "Normal" in page.text or "VIP" in page.text or "High potential" in page.text
    warned = client.get(f"/admin/customers/customer/{quiet.pk}/360/")
    assert 'id="churn-warning"' in warned.text and "No order for 150 days" in warned.text


def test_churn_warnings_and_tiers_through_the_api(api, admin, rep, shop):
    from guanxi.segments.services.lifecycle import lifecycle_run

    quiet = make_customer(rep, name="沉默客户")
    make_order(rep, quiet, ordered_at=ago(150), total="500.00")
    lifecycle_run()
    warnings = api(rep).get("churn-warnings").json()["items"]
    assert [w["customer_name"] for w in warnings] == ["沉默客户"]
    assert warnings[0]["reasons"][0]["rule"] == "no_order"
    assert "150 days" in warnings[0]["reasons"][0]["text"]
    assert api(rep).get(f"customers/{quiet.pk}/segments").json()["churn_warning"]["id"]
    r = api(admin).patch("lifecycle/settings", {"at_risk_days": 0})
    assert r.status_code == 422 and "at_risk_days" in r.json()["errors"]
    assert api(rep).patch("lifecycle/settings", {"at_risk_days": 60}).status_code == 403
    evaluation = api(admin).post("tiers/evaluate", {}).json()
    assert evaluation["customers"] == 4
    tiers = api(rep).get("tiers").json()
    assert [t["name"] for t in tiers] == ["VIP", "高潜力", "普通"]
    assert sum(t["members"] for t in tiers) == 3  # rep's three customers
    assert api(rep).get(f"customers/{quiet.pk}/segments").json()["tier"]["tier"]


def test_edits_tags_and_interactions_move_memberships_at_once(api, admin, rep, shop):
    from guanxi.customers.services import customer_update, customers_tag
    from guanxi.interactions.services import interaction_log

    vip = api(admin).post("segments", {"name": "VIP", "definition": {
        "field": "tags", "op": "contains", "value": ["VIP"]}}).json()  # fmt: skip
    called = api(admin).post("segments", {"name": "近期回访", "definition": {
        "field": "interactions.count", "op": "gte", "value": 1, "days": 7}}).json()  # fmt: skip
    tech = api(admin).post("segments", {"name": "科技行业", "definition": {
        "field": "industry", "op": "eq", "value": "科技"}}).json()  # fmt: skip
    once = shop["once"]

    def members(seg):
        return {m.customer_id for m in SegmentMembership.objects.filter(
            segment_id=seg["id"], left_at__isnull=True)}  # fmt: skip

    customers_tag(actor=admin, customer_ids=[once.pk], add=["VIP"])
    interaction_log(actor=admin, customer=once, data={"kind": "call", "subject": "回访"})
    customer_update(actor=admin, customer=once, data={"industry": "科技"})
    assert once.pk in members(vip) and once.pk in members(called) and once.pk in members(tech)
    customers_tag(actor=admin, customer_ids=[once.pk], remove=["VIP"])
    customer_update(actor=admin, customer=once, data={"industry": "制造"})
    assert once.pk not in members(vip) and once.pk not in members(tech)
    # The counts shown follow each entry and exit.
    for s in (vip, called, tech):
        assert Segment.objects.get(pk=s["id"]).member_count == len(members(s))


def test_customers_whose_relationship_ended_leave_every_dynamic_segment(api, admin, shop):
    from guanxi.customers.models import Customer
    from guanxi.segments.services import segments_refresh

    seg = api(admin).post("segments", {"name": "复购", "definition": TWO_ORDERS}).json()
    assert seg["members"] == 2
    Customer.objects.filter(pk=shop["far"].pk).update(stage="terminated")
    segments_refresh()
    assert Segment.objects.get(pk=seg["id"]).member_count == 1
    preview = api(admin).post("segments/preview", {"definition": TWO_ORDERS}).json()
    assert preview["count"] == 1


def test_automation_can_read_who_entered_and_left_since_a_time(api, admin, shop):
    from guanxi.segments.selectors import membership_changes

    before = timezone.now()
    seg = api(admin).post("segments", {"name": "复购", "definition": TWO_ORDERS}).json()
    api(admin).patch(f"segments/{seg['id']}", {"definition": {"all": [
        TWO_ORDERS, {"field": "owner", "op": "eq", "value": "rep1"}]}})  # fmt: skip
    changes = membership_changes(since=before, segment_ids=[seg["id"]])
    assert {m.customer_id for m in changes["entered"]} == {shop["loyal"].pk, shop["far"].pk}
    assert [m.customer_id for m in changes["left"]] == [shop["far"].pk]
