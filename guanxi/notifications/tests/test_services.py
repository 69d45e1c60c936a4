"""notify and its emails, rendering in the reader's language, marking read, de-dup helper."""

import logging
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone, translation

from guanxi.core.errors import NotFound, ValidationFailed
from guanxi.notifications import selectors, services
from guanxi.notifications.models import Notification, render_text
from tests.factories import make_user

from .helpers import BODY, PARAMS, TITLE, with_email


def _notify(recipients, **kw):
    kw.setdefault("kind", "churn_risk")
    kw.setdefault("title", TITLE)
    kw.setdefault("params", PARAMS)
    return services.notify(recipients=recipients, **kw)


def test_notify_creates_one_row_per_recipient_in_one_insert(
    rep, rep2, manager, django_assert_max_num_queries
):
    with django_assert_max_num_queries(2):  # the recipients, then one INSERT
        created = _notify([rep, rep2, manager.pk, rep], url="/admin/", customer_id=7, email=False)
    assert sorted(n.recipient_id for n in created) == sorted([rep.pk, rep2.pk, manager.pk])
    assert all(n.pk for n in created)
    stored = Notification.objects.get(recipient=rep)
    assert (stored.kind, stored.title, stored.params, stored.customer_id, stored.url) == (
        "churn_risk", TITLE, PARAMS, 7, "/admin/",
    )  # fmt: skip
    assert stored.read_at is None and stored.emailed_at is None


def test_notify_skips_inactive_users_and_an_empty_list(rep, rep2):
    rep2.is_active = False
    rep2.save(update_fields=["is_active"])
    assert [n.recipient_id for n in _notify([rep, rep2], email=False)] == [rep.pk]
    assert _notify([]) == []


def test_a_notification_reads_in_the_viewers_language(rep):
    [n] = _notify([rep], body=BODY, email=False)
    with translation.override("zh-hans"):
        assert n.title_text == "提醒：回访张三"
        assert n.body_text.splitlines()[1] == "客户：张三"
    with translation.override("en"):
        assert n.title_text == "Reminder: 回访张三"
        assert n.body_text.splitlines()[1] == "Customer: 张三"


def test_rendering_never_breaks_on_a_stored_text_that_no_longer_formats():
    assert render_text("Churn risk for %(name)s", {"other": 1}) == "Churn risk for %(name)s"
    assert render_text("100% sure", {}) == "100% sure"
    assert render_text("", {"a": 1}) == ""


def test_notify_emails_recipients_with_an_address_in_the_site_language(
    rep, rep2, settings, immediate_tasks
):
    settings.LANGUAGE_CODE = "zh-hans"
    with_email(rep, "rep1@example.com")  # rep2 has no address
    with immediate_tasks(execute=True):
        created = _notify([rep, rep2], body=BODY)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["rep1@example.com"]
    assert message.subject == "提醒：回访张三"
    assert "客户：张三" in message.body
    emailed = {n.recipient_id: n.emailed_at for n in Notification.objects.filter(
        pk__in=[n.pk for n in created])}  # fmt: skip
    assert emailed[rep.pk] is not None and emailed[rep2.pk] is None
    # The page still shows each reader their own language.
    with translation.override("en"):
        assert Notification.objects.get(recipient=rep).title_text == "Reminder: 回访张三"


def test_emails_wait_for_the_commit_and_are_not_sent_after_a_rollback(rep, immediate_tasks):
    with_email(rep, "rep1@example.com")
    with (
        immediate_tasks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        _notify([rep])
        raise RuntimeError
    assert callbacks == [] and mail.outbox == []
    assert not Notification.objects.exists()


def test_email_false_sends_nothing(rep, immediate_tasks):
    with_email(rep, "rep1@example.com")
    with immediate_tasks(execute=True) as callbacks:
        _notify([rep], email=False)
    assert callbacks == [] and mail.outbox == []


def test_a_notification_is_emailed_once(rep, immediate_tasks):
    with_email(rep, "rep1@example.com")
    with immediate_tasks(execute=True):
        [n] = _notify([rep])
    assert services.notification_emails_send(notification_ids=[n.pk]) == 0
    assert len(mail.outbox) == 1


def test_a_line_break_in_a_parameter_does_not_break_the_subject(rep, immediate_tasks):
    with_email(rep, "rep1@example.com")
    with immediate_tasks(execute=True):
        _notify([rep], params={"title": "张三\nBcc: x@example.com"})
    assert mail.outbox[0].subject == "Reminder: 张三 Bcc: x@example.com"


def test_the_email_links_to_the_notification_when_the_site_address_is_known(
    rep, settings, immediate_tasks
):
    settings.GUANXI_SITE_URL = "https://crm.example.com/"
    with_email(rep, "rep1@example.com")
    with immediate_tasks(execute=True):
        [n] = _notify([rep], url="/admin/")
    assert f"https://crm.example.com/admin/notifications/notification/{n.pk}/open/" in (
        mail.outbox[0].body
    )


def test_a_mail_server_failure_is_logged_and_leaves_it_not_emailed(
    rep, immediate_tasks, monkeypatch, caplog
):
    def down(*args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(services, "send_mail", down)
    with_email(rep, "rep1@example.com")
    with caplog.at_level(logging.ERROR, "guanxi.notifications"), immediate_tasks(execute=True):
        [n] = _notify([rep])
    n.refresh_from_db()
    assert n.emailed_at is None
    assert "not emailed" in caplog.text


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"kind": ""}, "kind"),
        ({"kind": "Churn Risk"}, "kind"),
        ({"title": ""}, "title"),
        ({"title": "x" * 256}, "title"),
        ({"title": "Risk for %(name)s"}, "title"),  # PARAMS have no "name"
        ({"title": "Risk for %(name)s", "params": None}, "title"),
        ({"body": "Due %(when)s"}, "body"),
        ({"body": "x" * 10_001}, "body"),
        ({"params": {"title": object()}}, "params"),
        ({"params": ["x"]}, "params"),
        ({"url": "https://evil.example.com/"}, "url"),
        ({"url": "//evil.example.com/"}, "url"),
        ({"url": "admin/"}, "url"),
        ({"customer_id": 0}, "customer_id"),
        ({"customer_id": "7"}, "customer_id"),
    ],
)
def test_notify_refuses_bad_input_and_writes_nothing(rep, kw, field):
    with pytest.raises(ValidationFailed) as e:
        _notify([rep], **kw)
    assert field in e.value.errors
    assert not Notification.objects.exists()


def test_notify_refuses_a_text_already_translated(rep):
    from django.utils.translation import gettext_lazy

    with pytest.raises(ValidationFailed) as e:
        _notify([rep], title=gettext_lazy("Reminder: %(title)s"))
    assert "__all__" in e.value.errors


def test_a_user_marks_only_their_own_notifications_read(rep, rep2):
    [mine] = _notify([rep], email=False)
    [theirs] = _notify([rep2], email=False)
    assert selectors.unread_count(actor=rep) == 1
    with pytest.raises(NotFound):
        services.notification_mark_read(actor=rep, notification_id=theirs.pk)
    with pytest.raises(NotFound):
        selectors.notification_get(actor=rep, notification_id=2**70)
    theirs.refresh_from_db()
    assert theirs.read_at is None
    read = services.notification_mark_read(actor=rep, notification_id=mine.pk)
    first = read.read_at
    assert first is not None
    # Again: no change.
    assert services.notification_mark_read(actor=rep, notification_id=mine.pk).read_at == first
    assert selectors.unread_count(actor=rep) == 0


def test_mark_all_read_marks_only_the_actors(rep, rep2):
    _notify([rep, rep2], email=False)
    _notify([rep], email=False)
    assert selectors.unread_count(actor=rep) == 2
    assert services.notifications_mark_all_read(actor=rep) == 2
    assert services.notifications_mark_all_read(actor=rep) == 0
    assert selectors.unread_count(actor=rep) == 0
    assert selectors.unread_count(actor=rep2) == 1


def test_a_deactivated_user_has_no_notifications(rep):
    _notify([rep], email=False)
    rep.is_active = False
    rep.save(update_fields=["is_active"])
    assert selectors.unread_count(actor=rep) == 0
    assert not selectors.notification_list(actor=rep).exists()


def test_the_list_is_newest_first_and_can_hold_only_the_unread(rep):
    old = _notify([rep], email=False)[0]
    Notification.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=1))
    new = _notify([rep], email=False)[0]
    newer = _notify([rep], email=False)[0]
    assert list(selectors.notification_list(actor=rep)) == [newer, new, old]
    services.notification_mark_read(actor=rep, notification_id=new.pk)
    assert list(selectors.notification_list(actor=rep, unread_only=True)) == [newer, old]


def test_notified_customer_ids_finds_customers_already_warned_about(rep):
    now = timezone.now()
    _notify([rep], customer_id=1, email=False)
    _notify([rep], customer_id=2, kind="segment", email=False)
    found = selectors.notified_customer_ids(
        kind="churn_risk", customer_ids=[1, 2, 3], since=now - timedelta(days=7)
    )
    assert found == {1}
    later = now + timedelta(minutes=1)
    found = selectors.notified_customer_ids(kind="churn_risk", customer_ids=[1], since=later)
    assert found == set()


def test_a_user_only_gets_notifications_meant_for_them(rep, far_rep):
    other = make_user("rep9", "rep")
    _notify([other], email=False)
    assert selectors.unread_count(actor=rep) == 0
    assert selectors.unread_count(actor=other) == 1
