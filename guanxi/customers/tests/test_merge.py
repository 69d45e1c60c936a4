"""Merging duplicates and taking merges back, through the API: every record moves, the
chosen values survive, the timeline and audit say so, and an unmerge restores it all."""

import pytest

from guanxi.accounts.models import AuditEntry
from guanxi.customers.models import Customer, DuplicateReview
from guanxi.customers.services import contact_create, customer_change_stage
from guanxi.interactions.models import Interaction, Task, TimelineEvent
from guanxi.interactions.services import interaction_log, task_create
from guanxi.orders.models import Order
from tests.factories import make_customer, make_order


@pytest.fixture
def pair(rep, admin):
    keep = make_customer(rep, name="张三", phones=["13800138000"], emails=["zs@a.com"],
                         tags=["VIP"], company_name="阿里巴巴")  # fmt: skip
    dup = make_customer(
        rep,
        name="张叁",
        phones=["13800138000", "13900139000"],
        emails=["zhangsan@b.com"],
        tags=["老客户"],
        birthday="1990-01-05",
        external_id="M-7",
        addresses=[{"city": "杭州", "street": "西湖路1号"}],
    )
    interaction_log(actor=rep, customer=dup, data={"kind": "call", "subject": "回访"})
    task_create(actor=rep, customer=dup, data={"title": "寄样品"})
    make_order(admin, dup, number="D-1")
    customer_change_stage(actor=rep, customer=dup, stage="at_risk", cause="很久没买")
    return keep, dup


def test_merge_moves_everything_and_keeps_the_chosen_values(api, admin, pair):
    keep, dup = pair
    dup_id = dup.pk
    r = api(admin).post(
        f"customers/{keep.pk}/merge", {"other": dup_id, "choose": {"name": "other"}}
    )
    assert r.status_code == 200, r.content
    assert r.json()["merged_id"] == dup_id and r.json()["survivor"] == keep.pk
    assert not Customer.objects.filter(pk=dup_id).exists()
    keep.refresh_from_db()
    assert keep.name == "张叁"  # chosen
    assert keep.company_name == "阿里巴巴"  # the survivor's, not asked otherwise
    assert sorted(keep.phones.values_list("number", flat=True)) == [
        "+8613800138000",
        "+8613900139000",
    ]
    assert sorted(keep.emails.values_list("email", flat=True)) == ["zhangsan@b.com", "zs@a.com"]
    assert sorted(keep.tags.values_list("name", flat=True)) == ["VIP", "老客户"]
    assert keep.addresses.get().city == "杭州"
    assert Order.objects.get(number="D-1").customer_id == keep.pk
    assert Interaction.objects.get().customer_id == keep.pk
    assert Task.objects.get().customer_id == keep.pk
    assert keep.stage_changes.filter(to_stage="at_risk").exists()
    assert TimelineEvent.objects.filter(customer=keep, kind="merged").exists()
    assert AuditEntry.objects.filter(action="merge", customer_id=keep.pk).exists()
    # The merged customer's number and external id now find the survivor.
    found = api(admin).get("customers", {"q": "13900139000"}).json()["items"]
    assert [c["id"] for c in found] == [keep.pk]


def test_unmerge_brings_the_customer_back_with_its_records(api, admin, pair):
    keep, dup = pair
    dup_id = dup.pk
    client = api(admin)
    merge = client.post(f"customers/{keep.pk}/merge",
                        {"other": dup_id, "choose": {"name": "other"}}).json()  # fmt: skip
    later = make_order(admin, Customer.objects.get(pk=keep.pk), number="K-2")
    r = client.post(f"merges/{merge['id']}/undo")
    assert r.status_code == 200, r.content
    assert r.json()["undone_at"] is not None
    back = Customer.objects.get(pk=dup_id)
    assert back.name == "张叁" and back.external_id == "M-7"
    assert str(back.birthday) == "1990-01-05"
    assert sorted(back.phones.values_list("number", flat=True)) == [
        "+8613800138000",
        "+8613900139000",
    ]
    assert list(back.emails.values_list("email", flat=True)) == ["zhangsan@b.com"]
    assert list(back.tags.values_list("name", flat=True)) == ["老客户"]
    assert back.addresses.get().city == "杭州"
    assert Order.objects.get(number="D-1").customer_id == dup_id
    assert Order.objects.get(pk=later.pk).customer_id == keep.pk  # added after: stays
    assert Interaction.objects.get().customer_id == dup_id
    keep.refresh_from_db()
    assert keep.name == "张三"
    assert sorted(keep.tags.values_list("name", flat=True)) == ["VIP"]
    assert list(keep.phones.values_list("number", flat=True)) == ["+8613800138000"]
    assert TimelineEvent.objects.filter(kind="unmerged").count() == 2
    assert client.post(f"merges/{merge['id']}/undo").status_code == 409


def test_merge_refusals(api, admin, rep, far_rep, manager, pair):
    keep, dup = pair
    assert api(rep).post(f"customers/{keep.pk}/merge", {"other": dup.pk}).status_code == 403
    outside = make_customer(far_rep, name="远方")
    r = api(manager).post(f"customers/{keep.pk}/merge", {"other": outside.pk})
    assert r.status_code == 404
    r = api(admin).post(f"customers/{keep.pk}/merge", {"other": keep.pk})
    assert r.status_code == 422 and "other" in r.json()["errors"]
    r = api(admin).post(f"customers/{keep.pk}/merge", {"other": dup.pk, "choose": {"x": "y"}})
    assert r.status_code == 422 and "choose.x" in r.json()["errors"]
    assert Customer.objects.filter(pk=dup.pk).exists()


def test_review_queue_merge_and_dismiss(api, admin, manager, rep, far_rep, pair):
    keep, dup = pair
    review = DuplicateReview.objects.create(
        customer=dup, other=keep, score=0.93, source="scan",
        explanation=[{"field": "phone", "level": "exact"}],
    )  # fmt: skip
    third = make_customer(rep, name="王五")
    fourth = make_customer(rep, name="王伍")
    second = DuplicateReview.objects.create(customer=third, other=fourth, score=0.6, source="scan")
    hidden = DuplicateReview.objects.create(
        customer=make_customer(far_rep, name="甲"), other=make_customer(far_rep, name="乙"),
        score=0.7, source="scan",
    )  # fmt: skip
    listed = api(manager).get("duplicates").json()
    assert [item["id"] for item in listed["items"]] == [review.pk, second.pk]
    assert listed["items"][0]["other"]["phones"] == ["+8613800138000"]
    assert api(manager).post(f"duplicates/{hidden.pk}/dismiss").status_code == 404
    assert api(rep).get("duplicates").json()["items"] == []

    r = api(manager).post(f"duplicates/{second.pk}/dismiss")
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    assert api(manager).post(f"duplicates/{second.pk}/dismiss").status_code == 409

    r = api(admin).post(f"duplicates/{review.pk}/merge", {"keep": "other"})
    assert r.status_code == 200, r.content
    assert r.json()["survivor"] == keep.pk and not Customer.objects.filter(pk=dup.pk).exists()
    # Unmerging a reviewed pair puts it back on the queue.
    api(admin).post(f"merges/{r.json()['id']}/undo")
    assert DuplicateReview.objects.filter(status="open", customer_id=dup.pk).exists()


def test_contacts_move_with_a_merged_company(api, admin, rep):
    a = make_customer(rep, name="华为技术有限公司", kind="company", phones=["075528780808"])
    b = make_customer(rep, name="华为技术", kind="company")
    contact_create(actor=rep, customer=b, data={"name": "王经理", "title": "采购"})
    merge = api(admin).post(f"customers/{a.pk}/merge", {"other": b.pk}).json()
    assert a.contacts.get().name == "王经理"
    found = api(admin).get("customers", {"q": "王经理"}).json()["items"]
    assert [c["id"] for c in found] == [a.pk]  # the contact's name finds the company
    api(admin).post(f"merges/{merge['id']}/undo")
    assert Customer.objects.get(pk=b.pk).contacts.get().name == "王经理"
