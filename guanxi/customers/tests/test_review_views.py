"""The duplicate review screen and the merge page, through the staff UI."""

import pytest

from guanxi.customers.models import Customer, CustomerMerge, DuplicateReview
from tests.factories import make_customer, make_order

QUEUE = "/admin/customers/duplicatereview/"
MERGES = "/admin/customers/customermerge/"


@pytest.fixture
def review(rep, admin):
    a = make_customer(rep, name="张三", phones=["13800138000"], company_name="")
    b = make_customer(rep, name="张叁", phones=["13800138000"], company_name="阿里巴巴",
                      emails=["zs@b.com"])  # fmt: skip
    make_order(admin, b, number="B-1")
    return DuplicateReview.objects.create(
        customer=a, other=b, score=0.97, source="scan",
        explanation=[{"field": "phone", "level": "same", "weight": 8.2,
                      "labels": {"en": ["phone", "same number"], "zh-hans": ["电话", "同一号码"]}}],
    )  # fmt: skip


def test_the_queue_lists_open_pairs_for_those_who_may_merge(client, admin, rep, review):
    client.force_login(admin)
    body = client.get(QUEUE).content.decode()
    assert "张三 · 张叁" in body and "97%" in body
    client.force_login(rep)
    assert client.get(QUEUE).status_code == 403
    assert client.get(f"{QUEUE}{review.pk}/change/").status_code == 404


def test_side_by_side_shows_both_and_merges_with_the_values_picked(client, admin, review):
    client.force_login(admin)
    page = client.get(f"{QUEUE}{review.pk}/change/").content.decode()
    assert "阿里巴巴" in page and "same number" in page and "1 orders" in page
    r = client.post(
        f"{QUEUE}{review.pk}/change/",
        {"action": "keep_customer", "f_name": "other", "f_company_name": "other"},
    )
    survivor = Customer.objects.get()
    assert r.status_code == 302 and r["Location"].endswith(f"/{survivor.pk}/360/")
    assert survivor.pk == review.customer_id
    assert (survivor.name, survivor.company_name) == ("张叁", "阿里巴巴")
    assert survivor.orders.count() == 1
    merge = CustomerMerge.objects.get()
    body = client.get(f"{MERGES}{merge.pk}/change/").content.decode()
    assert "Undo this merge" in body
    client.post(f"{MERGES}{merge.pk}/change/", {"action": "undo"})
    assert Customer.objects.count() == 2
    assert Customer.objects.get(pk=review.other_id).orders.count() == 1


def test_keeping_the_right_hand_customer(client, admin, review):
    client.force_login(admin)
    client.post(f"{QUEUE}{review.pk}/change/", {"action": "keep_other", "f_name": "customer"})
    survivor = Customer.objects.get()
    assert survivor.pk == review.other_id and survivor.name == "张三"


def test_not_duplicates_closes_the_pair(client, admin, review):
    client.force_login(admin)
    client.post(f"{QUEUE}{review.pk}/change/", {"action": "dismiss"})
    review.refresh_from_db()
    assert review.status == "dismissed" and Customer.objects.count() == 2
    assert "张三 · 张叁" not in client.get(QUEUE).content.decode()


def test_the_360_page_shows_a_customers_possible_duplicates(client, admin, rep, review):
    client.force_login(admin)
    page = client.get(f"/admin/customers/customer/{review.customer_id}/360/").content.decode()
    assert "possible-duplicates" in page and f"{QUEUE}{review.pk}/change/" in page
    client.force_login(rep)  # may not merge: the card is not shown
    page = client.get(f"/admin/customers/customer/{review.customer_id}/360/").content.decode()
    assert "possible-duplicates" not in page


def test_the_evidence_is_shown_in_the_readers_language(client, admin, review):
    client.force_login(admin)
    url = f"{QUEUE}{review.pk}/change/"
    assert "phone: same number (+8.2)" in client.get(url).content.decode()
    chinese = client.get(url, headers={"accept-language": "zh-hans"}).content.decode()
    assert "电话: 同一号码 (+8.2)" in chinese
