"""Channel events through the API: identity resolution, leads, merges, idempotency,
NDJSON batches, errors by line, access; and the events on the customer's timeline."""

import json

import pytest

from guanxi.customers.models import Customer
from guanxi.events.models import ChannelIdentity, CustomerEvent
from guanxi.interactions.models import TimelineEvent
from tests.factories import make_customer


def event(**kw):
    base = {
        "channel": "web_shop",
        "kind": "page_view",
        "occurred_at": "2026-11-30T10:15:00+08:00",
        "identifiers": {"phone": "13800138000"},
        "payload": {"page": "/tea", "title": "青瓷茶具"},
    }
    base.update(kw)
    return base


def ndjson(client, events):
    body = "\n".join(json.dumps(e, ensure_ascii=False) for e in events)
    return client.client.post(
        "/api/v1/events", body, content_type="application/x-ndjson", headers=client.headers
    )


@pytest.fixture
def client(api, admin):
    return api(admin)


def test_an_event_is_attached_to_the_customer_its_phone_names(client, rep):
    zhang = make_customer(rep, name="张三", phones=["13800138000"])
    r = client.post("events", event(identifiers={"phone": "+86 138-0013-8000"}))
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["accepted"] == 1 and body["created_customers"] == 0
    assert body["events"][0]["customer"] == zhang.pk
    stored = CustomerEvent.objects.get()
    assert (stored.customer_id, stored.kind, stored.payload["page"]) == (
        zhang.pk,
        "page_view",
        "/tea",
    )
    line = TimelineEvent.objects.get(customer=zhang, kind="channel")
    assert line.object_id == stored.pk
    timeline = client.get(f"customers/{zhang.pk}/timeline").json()
    assert any("青瓷茶具" in e["summary"] for e in timeline)


def test_nobody_matches_a_lead_is_made_once_per_person(client):
    r = ndjson(client, [
        event(identifiers={"email": "new@x.com", "channel_id": "u1", "name": "王小明"}),
        event(kind="cart_add", identifiers={"channel_id": "u1"}),
        event(kind="email_open", channel="email", identifiers={"email": "NEW@x.com"}),
    ])  # fmt: skip
    assert r.status_code == 200, r.content
    assert r.json()["accepted"] == 3 and r.json()["created_customers"] == 1
    lead = Customer.objects.get()
    assert (lead.name, lead.stage, lead.source, lead.owner) == ("王小明", "lead", "web", None)
    assert list(lead.emails.values_list("email", flat=True)) == ["new@x.com"]
    assert ChannelIdentity.objects.get().external_id == "u1"
    assert CustomerEvent.objects.filter(customer=lead).count() == 3
    # The channel id now finds the same customer in a later batch.
    r = client.post("events", event(identifiers={"channel_id": "u1"}))
    assert r.json()["events"][0]["customer"] == lead.pk and Customer.objects.count() == 1


def test_a_new_email_of_a_known_person_is_added_to_them(client, rep):
    zhang = make_customer(rep, name="张三", phones=["13800138000"])
    client.post("events", event(identifiers={"phone": "13800138000", "email": "zs@new.cn"}))
    assert list(zhang.emails.values_list("email", flat=True)) == ["zs@new.cn"]


def test_two_customers_one_person_are_merged(client, rep):
    by_phone = make_customer(rep, name="张三", phones=["13800138000"])
    by_email = make_customer(rep, name="Zhang San", emails=["zs@example.com"])
    r = client.post(
        "events", event(identifiers={"phone": "13800138000", "email": "zs@example.com"})
    )
    assert r.json()["merged_customers"] == 1
    assert list(Customer.objects.values_list("pk", flat=True)) == [by_phone.pk]
    assert by_phone.emails.filter(email="zs@example.com").exists()
    assert not Customer.objects.filter(pk=by_email.pk).exists()


def test_a_repeated_idempotency_key_is_not_stored_twice(client, rep):
    make_customer(rep, name="张三", phones=["13800138000"])
    first = client.post("events", event(idempotency_key="k-1")).json()
    again = ndjson(client, [event(idempotency_key="k-1"), event(idempotency_key="k-2"),
                            event(idempotency_key="k-2")]).json()  # fmt: skip
    assert first["accepted"] == 1
    assert again["accepted"] == 1 and again["duplicates"] == 2
    assert again["events"][0] == {"line": 1, "id": first["events"][0]["id"], "customer": None,
                                  "duplicate": True}  # fmt: skip
    assert CustomerEvent.objects.count() == 2


def test_bad_events_are_named_by_line_and_field_and_the_good_ones_kept(client):
    r = ndjson(client, [
        event(identifiers={"email": "a@x.com"}),
        event(channel="fax"),
        event(identifiers={}),
        event(occurred_at="yesterday", identifiers={"phone": "123"}),
    ])  # fmt: skip
    body = r.json()
    assert r.status_code == 200 and body["accepted"] == 1
    errors = {e["line"]: set(e["errors"]) for e in body["errors"]}
    assert errors == {2: {"channel"}, 3: {"identifiers"}, 4: {"occurred_at", "identifiers.phone"}}


def test_a_batch_with_nothing_valid_is_a_422(client):
    r = client.post("events", [event(kind="Page View")])
    assert r.status_code == 422 and "line 1.kind" in r.json()["errors"]
    r = client.client.post("/api/v1/events", "{not json", content_type="application/json",
                           headers=client.headers)  # fmt: skip
    assert r.status_code == 422


@pytest.mark.parametrize("role", ["manager", "rep", "agent", "marketer"])
def test_only_admins_send_events(api, request, role):
    r = api(request.getfixturevalue(role)).post("events", event())
    assert r.status_code == 403 and not CustomerEvent.objects.exists()


def test_events_are_read_back_only_where_their_customer_is_visible(api, admin, rep, far_rep):
    mine = make_customer(rep, name="张三", phones=["13800138000"])
    theirs = make_customer(far_rep, name="李四", phones=["13900139000"])
    api(admin).post("events", [event(), event(identifiers={"phone": "13900139000"})])
    seen = api(rep).get("events").json()["items"]
    assert [e["customer"] for e in seen] == [mine.pk]
    assert api(rep).get("events", {"customer": theirs.pk}).status_code == 404


def test_the_events_page_lists_what_the_user_may_see(client, api, admin, rep, far_rep):
    from django.test import Client

    make_customer(rep, name="张三", phones=["13800138000"])
    make_customer(far_rep, name="李四", phones=["13900139000"])
    api(admin).post("events", [event(), event(identifiers={"phone": "13900139000"})])
    browser = Client()
    browser.force_login(rep)
    body = browser.get("/admin/events/customerevent/").content.decode()
    assert "张三" in body and "李四" not in body and "青瓷茶具" in body
