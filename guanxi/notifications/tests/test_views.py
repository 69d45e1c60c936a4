"""The notification centre in the staff UI: your own list, opening, mark all, the badge."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from guanxi.notifications.models import Notification
from guanxi.notifications.services import notify

from .helpers import BODY, PARAMS, TITLE

CENTRE = "/admin/notifications/notification/"


def _notify(*users, **kw):
    kw.setdefault("kind", "churn_risk")
    kw.setdefault("title", TITLE)
    kw.setdefault("params", PARAMS)
    kw.setdefault("email", False)
    return notify(recipients=users, **kw)


def _open(n):
    return reverse("admin:notifications_notification_open", args=[n.pk])


@pytest.fixture
def client(rep):
    c = Client()
    c.force_login(rep)
    return c


def test_the_centre_lists_your_notifications_with_the_unread_highlighted(client, rep, rep2):
    [read] = _notify(rep, body=BODY)
    [unread] = _notify(rep, params={**PARAMS, "title": "回访李四"})
    _notify(rep2, params={**PARAMS, "title": "别人的"})
    client.get(_open(read))
    r = client.get(CENTRE, HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 200
    body = r.content.decode()
    assert "Reminder: 回访李四" in body and "Reminder: 回访张三" in body
    assert "别人的" not in body
    # Newest first, the unread one marked as such, each linking through "open".
    assert body.index("回访李四") < body.index("回访张三")
    assert re.search(rf'class="gx-unread" data-notification="{unread.pk}"', body)
    assert re.search(rf'class="gx-read" data-notification="{read.pk}"', body)
    assert f'href="{_open(unread)}"' in body
    assert 'data-unread="1"' in body


def test_the_centre_speaks_chinese(client, rep):
    _notify(rep)
    body = client.get(CENTRE, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "提醒：回访张三" in body
    assert '<html lang="zh-hans"' in body


def test_the_centre_can_show_only_the_unread(client, rep):
    [read] = _notify(rep, params={**PARAMS, "title": "已读"})
    _notify(rep, params={**PARAMS, "title": "未读"})
    client.get(_open(read))
    body = client.get(CENTRE, {"unread": "1"}).content.decode()
    assert "未读" in body and "已读" not in body


def test_an_empty_centre(client):
    r = client.get(CENTRE, HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 200
    assert "No notifications yet." in r.content.decode()
    assert 'id="read-all"' not in r.content.decode()


def test_opening_a_notification_marks_it_read_and_follows_its_link(client, rep):
    [n] = _notify(rep, url="/admin/customers/customer/")
    r = client.get(_open(n))
    assert r.status_code == 302 and r["Location"] == "/admin/customers/customer/"
    n.refresh_from_db()
    assert n.read_at is not None


def test_a_notification_without_a_link_opens_back_onto_the_centre(client, rep):
    [n] = _notify(rep)
    r = client.get(_open(n))
    assert r.status_code == 302 and r["Location"] == CENTRE


def test_a_link_outside_guanxi_is_never_followed(client, rep):
    [n] = _notify(rep)
    Notification.objects.filter(pk=n.pk).update(url="https://evil.example.com/")
    assert client.get(_open(n))["Location"] == CENTRE


def test_you_cannot_open_someone_elses_notification(client, rep2):
    [theirs] = _notify(rep2, url="/admin/")
    assert client.get(_open(theirs)).status_code == 404
    change = reverse("admin:notifications_notification_change", args=[theirs.pk])
    assert client.get(change).status_code == 404
    assert client.get(CENTRE + "987654321/open/").status_code == 404
    assert client.get(CENTRE + "abc/open/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_as_read_is_a_post(client, rep, rep2):
    _notify(rep, rep2)
    _notify(rep)
    body = client.get(CENTRE).content.decode()
    assert 'id="read-all"' in body and "csrfmiddlewaretoken" in body
    assert client.get(reverse("admin:notifications_notification_read_all")).status_code == 302
    assert Notification.objects.filter(recipient=rep, read_at__isnull=True).count() == 2
    r = client.post(reverse("admin:notifications_notification_read_all"), follow=True)
    assert "2 notifications marked as read." in r.content.decode()
    assert not Notification.objects.filter(recipient=rep, read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient=rep2, read_at__isnull=True).count() == 1


def test_mark_all_as_read_wants_the_csrf_token(rep):
    _notify(rep)
    c = Client(enforce_csrf_checks=True)
    c.force_login(rep)
    assert c.post(reverse("admin:notifications_notification_read_all")).status_code == 403
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


def test_the_sidebar_shows_the_unread_count(client, rep):
    body = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'href="{CENTRE}"' in body
    assert not re.search(r"sidebar-badge[^>]*>\s*\d", body)
    _notify(rep)
    _notify(rep)
    body = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert re.search(r"sidebar-badge[^>]*>\s*2\s*<", body)


def test_the_centre_needs_a_login():
    r = Client().get(CENTRE)
    assert r.status_code == 302 and "/login/" in r["Location"]
