"""Notifications over the API: your own only, in the request's language, marking read."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from guanxi.notifications.models import Notification
from guanxi.notifications.services import notify

from .helpers import BODY, PARAMS, TITLE


def _notify(*users, **kw):
    kw.setdefault("kind", "churn_risk")
    kw.setdefault("title", TITLE)
    kw.setdefault("params", PARAMS)
    kw.setdefault("email", False)
    return notify(recipients=users, **kw)


@pytest.fixture
def client(api, rep):
    return api(rep)


def test_the_list_is_your_own_newest_first(client, rep, rep2):
    [old] = _notify(rep, url="/admin/customers/customer/5/360/", customer_id=5)
    Notification.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=1))
    [new] = _notify(rep, body=BODY)
    _notify(rep2)
    r = client.get("notifications")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["count"] == 2
    assert [n["id"] for n in body["items"]] == [new.pk, old.pk]
    first, second = body["items"]
    assert first["title"] == "Reminder: 回访张三"
    assert first["body"].startswith("Task: 回访张三\nCustomer: 张三")
    assert first["read_at"] is None and first["kind"] == "churn_risk"
    assert (second["url"], second["customer_id"], second["body"]) == (
        "/admin/customers/customer/5/360/", 5, "",
    )  # fmt: skip


def test_titles_are_rendered_in_the_request_language(client, rep):
    _notify(rep, body=BODY)
    zh = client.client.get(
        "/api/v1/notifications", headers={**client.headers, "Accept-Language": "zh-hans"}
    ).json()["items"][0]
    assert zh["title"] == "提醒：回访张三"
    assert "客户：张三" in zh["body"]
    en = client.client.get(
        "/api/v1/notifications", headers={**client.headers, "Accept-Language": "en"}
    ).json()["items"][0]
    assert en["title"] == "Reminder: 回访张三"


def test_the_list_pages_and_filters_the_unread(client, rep):
    made = [_notify(rep)[0] for _ in range(5)]
    client.post(f"notifications/{made[0].pk}/read")
    page = client.get("notifications", {"limit": 2, "offset": 2}).json()
    assert (page["count"], page["limit"], page["offset"], len(page["items"])) == (5, 2, 2, 2)
    unread = client.get("notifications", {"unread": "true"}).json()
    assert unread["count"] == 4 and made[0].pk not in [n["id"] for n in unread["items"]]
    assert client.get("notifications", {"limit": 10_000}).status_code == 422


def test_unread_count(client, rep, rep2):
    _notify(rep, rep2)
    _notify(rep)
    assert client.get("notifications/unread-count").json() == {"count": 2}


def test_marking_one_read(client, rep):
    [n] = _notify(rep)
    r = client.post(f"notifications/{n.pk}/read")
    assert r.status_code == 200, r.content
    assert r.json()["read_at"] is not None and r.json()["title"] == "Reminder: 回访张三"
    assert client.get("notifications/unread-count").json() == {"count": 0}


def test_you_cannot_read_or_mark_someone_elses_notification(client, rep2):
    [theirs] = _notify(rep2)
    r = client.post(f"notifications/{theirs.pk}/read")
    assert r.status_code == 404
    # Someone else's id and an id that does not exist answer alike.
    assert r.json() == client.post("notifications/987654321/read").json()
    assert client.post(f"notifications/{2**70}/read").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert client.get("notifications").json()["count"] == 0


def test_read_all_marks_only_yours(client, api, rep, rep2):
    _notify(rep, rep2)
    _notify(rep)
    assert client.post("notifications/read-all").json() == {"marked": 2}
    assert client.post("notifications/read-all").json() == {"marked": 0}
    assert api(rep2).get("notifications/unread-count").json() == {"count": 1}


def test_notifications_want_authentication(db):
    for method, path in [
        ("get", "/api/v1/notifications"),
        ("get", "/api/v1/notifications/unread-count"),
        ("post", "/api/v1/notifications/read-all"),
        ("post", "/api/v1/notifications/1/read"),
    ]:
        assert getattr(Client(), method)(path).status_code == 401, path


def test_the_list_query_count_is_flat(client, rep, django_assert_max_num_queries):
    for _ in range(30):
        _notify(rep, body=BODY)
    # The token with its user, its last use; the page; the count.
    with django_assert_max_num_queries(4):
        assert client.get("notifications", {"limit": 20}).status_code == 200
