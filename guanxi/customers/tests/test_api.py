"""The customers API, end to end: shapes, errors, duplicates, stages, bulk actions, filters."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from guanxi.accounts.services import token_create, token_revoke
from guanxi.customers.models import Customer
from tests.factories import make_customer, make_order, make_unowned_customer, make_user

# Shapes ---------------------------------------------------------------------------------------


def test_customer_round_trip_create_get_patch_delete(manager, api):
    client = api(manager)
    r = client.post(
        "customers",
        {
            "name": "张三",
            "phones": ["138 0013 8000", "010-12345678"],
            "emails": ["ZhangSan@Example.com"],
            "tags": ["VIP", "华东"],
            "addresses": [{"province": "上海", "city": "上海", "district": "浦东新区"}],
            "source": "web",
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    cid = body["id"]
    assert body["kind"] == "person"
    assert body["name"] == "张三"
    assert body["phones"] == ["+8613800138000", "+861012345678"]
    assert body["emails"] == ["zhangsan@example.com"]
    assert body["owner"] == manager.pk
    assert body["stage"] == "lead"
    assert sorted(body["tags"]) == ["VIP", "华东"]
    assert body["custom_fields"] == {}
    assert body["addresses"][0]["city"] == "上海"
    assert body["addresses"][0]["is_primary"] is True

    assert client.get(f"customers/{cid}").json() == body

    r = client.patch(f"customers/{cid}", {"name": "张三丰", "emails": []})
    assert r.status_code == 200, r.content
    assert r.json()["name"] == "张三丰"
    assert r.json()["emails"] == []
    assert r.json()["phones"] == body["phones"]  # lists not given are left alone

    assert client.delete(f"customers/{cid}").status_code == 204
    r = client.get(f"customers/{cid}")
    assert r.status_code == 404
    assert r.json()["detail"]


def test_company_customer_json_says_company(rep, api):
    r = api(rep).post("customers", {"name": "华为技术有限公司", "kind": "company"})
    assert r.status_code == 201
    assert r.json()["kind"] == "company"


@pytest.mark.parametrize(
    "typed",
    [
        "138 0013 8000",
        "+86-138-0013-8000",
        "8613800138000",
        "0086 138 0013 8000",
        "１３８００１３８０００",
    ],
)
def test_api_returns_phones_in_e164_whatever_the_form(rep, api, typed):
    r = api(rep).post("customers", {"name": "李四", "phones": [typed]})
    assert r.status_code == 201, r.content
    assert r.json()["phones"] == ["+8613800138000"]


def test_same_number_in_two_forms_is_stored_once(rep, api):
    r = api(rep).post("customers", {"name": "李四", "phones": ["13800138000", "+86 138-0013-8000"]})
    assert r.json()["phones"] == ["+8613800138000"]


@pytest.mark.parametrize(("typed", "field"), [("12345", "phones"), ("abc", "phones")])
def test_invalid_phone_is_refused_naming_the_field(rep, api, typed, field):
    r = api(rep).post("customers", {"name": "李四", "phones": [typed]})
    assert r.status_code == 422
    assert field in r.json()["errors"]
    assert typed in r.json()["errors"][field][0]
    assert not Customer.objects.filter(name="李四").exists()


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_phone_in_the_list_is_refused(rep, api, blank):
    r = api(rep).post("customers", {"name": "李四", "phones": [blank]})
    assert r.status_code == 422
    assert "phones[0]" in r.json()["errors"]


def test_invalid_email_is_refused_and_valid_ones_lower_cased(rep, api):
    client = api(rep)
    r = client.post("customers", {"name": "王五", "emails": ["not-an-email"]})
    assert r.status_code == 422
    assert "emails" in r.json()["errors"]
    r = client.post("customers", {"name": "王五", "emails": ["Wang.Wu@Example.COM"]})
    assert r.json()["emails"] == ["wang.wu@example.com"]


def test_several_bad_fields_are_all_named_at_once(rep, api):
    r = api(rep).post(
        "customers",
        {"name": "", "phones": ["abc"], "emails": ["x"], "stage": "zzz", "birthday": "2999-01-01"},
    )
    assert r.status_code == 422
    assert {"name", "phones", "emails", "stage", "birthday"} <= set(r.json()["errors"])


# Errors ---------------------------------------------------------------------------------------


def _is_error(response, status):
    assert response.status_code == status, response.content
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["errors"], dict)
    return body


@pytest.mark.parametrize("field", ["created_at", "id", "search_text", "name_pinyin", "zzz"])
def test_fields_a_caller_may_not_set_are_refused_not_ignored(rep, api, field):
    r = api(rep).post("customers", {"name": "赵六", field: "x"})
    body = _is_error(r, 422)
    assert field in body["errors"]
    customer = make_customer(rep, name="孙七")
    r = api(rep).patch(f"customers/{customer.pk}", {field: "x"})
    assert field in _is_error(r, 422)["errors"]


def test_rep_cannot_make_another_user_the_owner(rep, rep2, api):
    client = api(rep)
    r = client.post("customers", {"name": "赵六", "owner": rep2.pk})
    assert "owner" in _is_error(r, 403)["errors"]
    customer = make_customer(rep)
    r = client.patch(f"customers/{customer.pk}", {"owner": rep2.pk})
    assert "owner" in _is_error(r, 403)["errors"]
    assert Customer.objects.get(pk=customer.pk).owner_id == rep.pk


def test_rep_cannot_create_an_unowned_customer(rep, api):
    r = api(rep).post("customers", {"name": "赵六", "owner": None})
    assert "owner" in _is_error(r, 403)["errors"]


def test_reps_new_customer_belongs_to_the_rep(rep, api):
    r = api(rep).post("customers", {"name": "赵六"})
    assert r.json()["owner"] == rep.pk
    r = api(rep).post("customers", {"name": "赵七", "owner": rep.pk})
    assert r.json()["owner"] == rep.pk


def test_manager_may_give_a_new_customer_to_a_team_member_only(manager, rep, far_rep, api):
    client = api(manager)
    assert client.post("customers", {"name": "甲", "owner": rep.pk}).json()["owner"] == rep.pk
    r = client.post("customers", {"name": "乙", "owner": far_rep.pk})
    assert "owner" in _is_error(r, 403)["errors"]
    assert client.post("customers", {"name": "丙", "owner": None}).json()["owner"] is None


def test_owner_that_does_not_exist_is_named(admin, api):
    r = api(admin).post("customers", {"name": "甲", "owner": 987654})
    assert "owner" in _is_error(r, 422)["errors"]


def test_malformed_json_is_a_400_with_the_error_shape(rep, api):
    client = api(rep)
    r = client.client.post(
        "/api/v1/customers", "{not json", content_type="application/json", headers=client.headers
    )
    _is_error(r, 400)


def test_wrong_types_are_422_naming_the_field(rep, api):
    r = api(rep).post("customers", {"name": "甲", "phones": "13800138000"})
    assert "phones" in _is_error(r, 422)["errors"]
    r = api(rep).post("customers", {"name": "甲", "addresses": [{"city": "上海", "zzz": 1}]})
    assert "addresses[0].zzz" in _is_error(r, 422)["errors"]


def test_unknown_api_path_is_a_json_404(rep, api):
    _is_error(api(rep).get("no-such-thing"), 404)
    _is_error(api(rep).get("customers/12/nothing"), 404)


def test_delete_of_a_customer_with_orders_is_a_409(admin, rep, api):
    customer = make_customer(rep)
    make_order(admin, customer)
    _is_error(api(admin).delete(f"customers/{customer.pk}"), 409)
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_rep_may_not_delete_customers(rep, customer, api):
    _is_error(api(rep).delete(f"customers/{customer.pk}"), 403)


# Authentication -------------------------------------------------------------------------------


def test_no_token_is_a_401(customer, api):
    for path in ["customers", f"customers/{customer.pk}", "me", "orders", "tasks"]:
        _is_error(api().get(path), 401)
    _is_error(api().post("customers", {"name": "甲"}), 401)


def test_bad_token_is_a_401(customer, api):
    client = api()
    client.headers["Authorization"] = "Bearer gx_not-a-real-token"
    _is_error(client.get("customers"), 401)
    client.headers["Authorization"] = "Basic dXNlcjpwYXNz"
    _is_error(client.get("customers"), 401)


def test_revoked_token_is_a_401(rep, api):
    token, plain = token_create(actor=rep, user=rep)
    client = api()
    client.headers["Authorization"] = f"Bearer {plain}"
    assert client.get("customers").status_code == 200
    token_revoke(actor=rep, token=token)
    _is_error(client.get("customers"), 401)


def test_deactivated_users_token_is_a_401(rep, api):
    client = api(rep)
    rep.is_active = False
    rep.save(update_fields=["is_active"])
    _is_error(client.get("customers"), 401)


# Pagination -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 201},
        {"limit": 0},
        {"limit": -1},
        {"offset": -1},
        {"offset": 10_000_001},
        {"offset": 2**65},
        {"limit": "many"},
    ],
)
def test_pagination_out_of_bounds_is_a_422_never_a_500(rep, api, params):
    body = _is_error(api(rep).get("customers", params), 422)
    assert set(params) <= set(body["errors"])


def test_pagination_pages_through_the_list(rep, api):
    for i in range(5):
        make_customer(rep, name=f"客户{i}")
    client = api(rep)
    first = client.get("customers", {"limit": 2}).json()
    assert first["count"] == 5 and len(first["items"]) == 2
    second = client.get("customers", {"limit": 2, "offset": 2}).json()
    assert {c["id"] for c in first["items"]}.isdisjoint({c["id"] for c in second["items"]})
    far = client.get("customers", {"offset": 10_000_000}).json()
    assert far["items"] == [] and far["count"] == 5
    assert client.get("customers", {"limit": 200}).status_code == 200


# Duplicates -----------------------------------------------------------------------------------


def test_duplicate_phone_is_a_409_with_the_existing_customers_id(rep, customer, api):
    r = api(rep).post("customers", {"name": "张三二", "phones": ["+86 138 0013 8000"]})
    body = _is_error(r, 409)
    assert body["duplicates"] == [{"id": customer.pk, "name": "张三"}]
    assert body["hidden_duplicates"] == 0
    assert "phones" in body["errors"]


def test_duplicate_email_names_the_emails_field(rep, customer, api):
    r = api(rep).post("customers", {"name": "张三二", "emails": ["ZHANGSAN@example.com"]})
    body = _is_error(r, 409)
    assert "emails" in body["errors"]
    assert body["duplicates"][0]["id"] == customer.pk


def test_duplicate_owned_by_someone_unseen_is_counted_not_shown(far_rep, customer, api):
    r = api(far_rep).post("customers", {"name": "张三二", "phones": ["13800138000"]})
    body = _is_error(r, 409)
    assert body["duplicates"] == []
    assert body["hidden_duplicates"] == 1
    assert "张三" not in json.dumps(body, ensure_ascii=False)


def test_allow_duplicate_creates_anyway(rep, customer, api):
    r = api(rep).post(
        "customers?allow_duplicate=true", {"name": "张三二", "phones": ["13800138000"]}
    )
    assert r.status_code == 201
    assert r.json()["id"] != customer.pk


def test_patch_that_adds_a_duplicate_phone_is_a_409(rep, customer, api):
    other = make_customer(rep, name="李四")
    client = api(rep)
    # A customer never clashes with itself.
    assert client.patch(f"customers/{customer.pk}", {"phones": ["13800138000"]}).status_code == 200
    r = client.patch(f"customers/{other.pk}", {"phones": ["13800138000"]})
    assert _is_error(r, 409)["duplicates"][0]["id"] == customer.pk
    r = client.patch(f"customers/{other.pk}?allow_duplicate=true", {"phones": ["13800138000"]})
    assert r.status_code == 200


# Stages ---------------------------------------------------------------------------------------


def test_stage_change_records_time_cause_and_actor(rep, customer, api):
    client = api(rep)
    before = timezone.now()
    r = client.post(f"customers/{customer.pk}/stage", {"stage": "active", "cause": "签约"})
    assert r.status_code == 200, r.content
    assert r.json()["stage"] == "active"
    history = client.get(f"customers/{customer.pk}/stage-history").json()
    assert history[0]["from_stage"] == "lead"
    assert history[0]["to_stage"] == "active"
    assert history[0]["cause"] == "签约"
    assert history[0]["actor"] == rep.pk
    from django.utils.dateparse import parse_datetime

    assert parse_datetime(history[0]["at"]) >= before - timedelta(seconds=1)
    assert history[-1]["to_stage"] == "lead"  # the creation is the first entry


def test_stage_change_through_patch_is_recorded_too(rep, customer, api):
    client = api(rep)
    r = client.patch(
        f"customers/{customer.pk}", {"stage": "at_risk", "stage_cause": "三个月未下单"}
    )
    assert r.json()["stage"] == "at_risk"
    history = client.get(f"customers/{customer.pk}/stage-history").json()
    assert (history[0]["to_stage"], history[0]["cause"]) == ("at_risk", "三个月未下单")


def test_unknown_stage_is_a_422(rep, customer, api):
    r = api(rep).post(f"customers/{customer.pk}/stage", {"stage": "zzz"})
    assert "stage" in _is_error(r, 422)["errors"]


def test_ending_a_relationship_is_no_direct_stage_change(rep, manager, admin, customer, api):
    # It needs a request and a manager's approval (test_termination.py); the direct paths
    # say so, for every role.
    for user in (rep, manager, admin):
        r = api(user).post(f"customers/{customer.pk}/stage", {"stage": "terminated", "cause": "x"})
        assert "termination" in _is_error(r, 422)["errors"]["stage"][0]
        r = api(user).patch(f"customers/{customer.pk}", {"stage": "terminated", "stage_cause": "x"})
        assert "termination" in _is_error(r, 422)["errors"]["stage"][0]
    assert Customer.objects.get(pk=customer.pk).stage == "lead"


def test_the_system_may_still_end_a_relationship_directly_with_a_cause(customer):
    from guanxi.core.errors import ValidationFailed
    from guanxi.customers.services import customer_change_stage

    with pytest.raises(ValidationFailed):
        customer_change_stage(actor=None, customer=customer, stage="terminated")
    customer_change_stage(actor=None, customer=customer, stage="terminated", cause="合同到期")
    change = Customer.objects.get(pk=customer.pk).stage_changes.first()
    assert (change.to_stage, change.cause, change.actor) == ("terminated", "合同到期", None)


def test_a_new_customer_cannot_start_terminated(manager, api):
    r = api(manager).post("customers", {"name": "甲", "stage": "terminated"})
    assert "stage" in _is_error(r, 422)["errors"]


def test_first_order_moves_a_lead_to_new(admin, rep, customer, api):
    make_order(admin, customer)
    history = api(rep).get(f"customers/{customer.pk}/stage-history").json()
    assert history[0]["to_stage"] == "new"
    assert api(rep).get(f"customers/{customer.pk}").json()["stage"] == "new"


# Bulk actions ---------------------------------------------------------------------------------


def test_bulk_assign_owner_touches_only_customers_the_manager_may_edit(
    manager, rep, rep2, far_rep, api
):
    mine = [make_customer(rep).pk, make_customer(rep).pk]
    theirs = make_customer(far_rep).pk
    r = api(manager).post("customers/bulk/assign-owner", {"ids": [*mine, theirs], "owner": rep2.pk})
    assert r.status_code == 200, r.content
    assert r.json() == {"changed": 2}
    assert set(Customer.objects.filter(pk__in=mine).values_list("owner_id", flat=True)) == {rep2.pk}
    assert Customer.objects.get(pk=theirs).owner_id == far_rep.pk


def test_bulk_assign_to_someone_outside_the_team_is_refused(manager, rep, far_rep, api):
    ids = [make_customer(rep).pk]
    r = api(manager).post("customers/bulk/assign-owner", {"ids": ids, "owner": far_rep.pk})
    assert "owner" in _is_error(r, 403)["errors"]


def test_rep_may_not_bulk_assign(rep, rep2, api):
    ids = [make_customer(rep).pk]
    _is_error(api(rep).post("customers/bulk/assign-owner", {"ids": ids, "owner": rep2.pk}), 403)


def test_bulk_tag_touches_only_customers_the_rep_may_edit(rep, rep2, api):
    mine, theirs = make_customer(rep), make_customer(rep2)
    r = api(rep).post("customers/bulk/tag", {"ids": [mine.pk, theirs.pk], "add": ["VIP"]})
    assert r.json() == {"changed": 1}
    assert list(mine.tags.values_list("name", flat=True)) == ["VIP"]
    assert not theirs.tags.exists()
    r = api(rep).post("customers/bulk/tag", {"ids": [mine.pk], "remove": ["VIP"]})
    assert r.json() == {"changed": 1}
    assert not mine.tags.exists()


def test_marketer_may_bulk_tag_any_customer_but_agent_may_not(marketer, agent, rep, api):
    ids = [make_customer(rep).pk]
    r = api(marketer).post("customers/bulk/tag", {"ids": ids, "add": ["活动"]})
    assert r.json() == {"changed": 1}
    _is_error(api(agent).post("customers/bulk/tag", {"ids": ids, "add": ["x"]}), 403)


def test_bulk_tag_with_too_long_a_tag_names_the_field(rep, api):
    ids = [make_customer(rep).pk]
    r = api(rep).post("customers/bulk/tag", {"ids": ids, "add": ["x" * 51]})
    assert "tags" in _is_error(r, 422)["errors"]


# Filters --------------------------------------------------------------------------------------


def _ids(response):
    assert response.status_code == 200, response.content
    return {c["id"] for c in response.json()["items"]}


def test_filters_by_stage_kind_source_tag_and_city(admin, rep, api):
    a = make_customer(
        rep,
        name="甲",
        stage="active",
        source="web",
        tags=["VIP"],
        addresses=[{"province": "广东", "city": "深圳"}],
    )
    b = make_customer(rep, name="乙公司", kind="company", source="referral", tags=["2024"])
    client = api(admin)
    assert _ids(client.get("customers", {"stage": "active"})) == {a.pk}
    assert _ids(client.get("customers", {"kind": "company"})) == {b.pk}
    assert _ids(client.get("customers", {"kind": "person"})) == {a.pk}
    assert _ids(client.get("customers", {"source": "referral"})) == {b.pk}
    assert _ids(client.get("customers", {"tag": "VIP"})) == {a.pk}
    assert _ids(client.get("customers", {"tag": "2024"})) == {b.pk}  # a tag that is a number
    assert _ids(client.get("customers", {"city": "深圳"})) == {a.pk}
    assert _ids(client.get("customers", {"city": "北京"})) == set()
    for bad in [{"stage": "zzz"}, {"kind": "robot"}, {"source": "zzz"}]:
        _is_error(client.get("customers", bad), 422)


def test_filter_by_owner_id_me_none_and_username(admin, manager, rep, rep2, api):
    a, b = make_customer(rep), make_customer(rep2)
    unowned = make_unowned_customer()
    client = api(manager)
    assert _ids(client.get("customers", {"owner": rep.pk})) == {a.pk}
    assert _ids(client.get("customers", {"owner": "rep2"})) == {b.pk}
    assert _ids(client.get("customers", {"owner": "none"})) == {unowned.pk}
    assert _ids(api(rep).get("customers", {"owner": "me"})) == {a.pk}
    assert _ids(client.get("customers", {"owner": "99999999999999999999999"})) == set()


def test_filter_by_creation_date_range(rep, api):
    old, new = make_customer(rep), make_customer(rep)
    Customer.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    client = api(rep)
    today = timezone.localdate()
    assert _ids(client.get("customers", {"created_after": str(today)})) == {new.pk}
    month_ago = today - timedelta(days=30)
    assert _ids(client.get("customers", {"created_before": str(month_ago)})) == {old.pk}
    _is_error(client.get("customers", {"created_after": "yesterday"}), 422)


def test_filters_combine_with_search(rep, api):
    a = make_customer(rep, name="张三", stage="active")
    make_customer(rep, name="张三丰", stage="lead")
    assert _ids(api(rep).get("customers", {"q": "zhangsan", "stage": "active"})) == {a.pk}


# Timeline -------------------------------------------------------------------------------------


def test_timeline_tells_the_customers_story_in_words(admin, manager, rep, rep2, api):
    client = api(manager)
    client.headers["Accept-Language"] = "en"
    cid = client.post("customers", {"name": "张三", "owner": rep.pk}).json()["id"]
    client.patch(f"customers/{cid}", {"industry": "制造业", "tags": ["VIP"]})
    client.post(f"customers/{cid}/stage", {"stage": "active", "cause": "签约"})
    client.patch(f"customers/{cid}", {"owner": rep2.pk})
    client.post("interactions", {"customer": cid, "kind": "call", "subject": "首次电话"})
    client.post(
        "orders",
        {"customer": cid, "number": "SO-1", "lines": [{"product_name": "茶", "unit_price": 88}]},
    )
    task = client.post("tasks", {"customer": cid, "title": "寄送样品"}).json()
    client.patch(f"tasks/{task['id']}", {"status": "done"})

    events = client.get(f"customers/{cid}/timeline").json()
    kinds = [e["kind"] for e in events]
    for kind in [
        "created",
        "updated",
        "tagged",
        "stage_changed",
        "owner_changed",
        "interaction",
        "order",
        "task_created",
        "task_done",
    ]:
        assert kind in kinds, kinds
    summaries = " | ".join(e["summary"] for e in events)
    for text in ["industry", "VIP", "签约", "rep1", "rep2", "首次电话", "SO-1", "寄送样品"]:
        assert text in summaries, summaries
    assert all(e["summary"] for e in events)
    assert all(e["actor"] == manager.pk for e in events)
    # Newest first, and pageable.
    assert events[0]["kind"] == "task_done" or events[0]["at"] >= events[-1]["at"]
    page = client.get(f"customers/{cid}/timeline", {"limit": 2, "offset": 1}).json()
    assert [e["id"] for e in page] == [e["id"] for e in events[1:3]]


def test_timeline_speaks_the_requested_language(rep, customer, api):
    client = api(rep)
    client.headers["Accept-Language"] = "en"
    r = client.client.get(
        f"/api/v1/customers/{customer.pk}/timeline",
        headers={**client.headers, "Accept-Language": "en"},
    )
    assert r.json()[0]["summary"] == "Customer record created"
    r = client.client.get(
        f"/api/v1/customers/{customer.pk}/timeline",
        headers={**client.headers, "Accept-Language": "zh-hans"},
    )
    assert r.json()[0]["summary"] != "Customer record created"


# Contacts -------------------------------------------------------------------------------------


def test_contacts_of_a_company(rep, api):
    client = api(rep)
    company = client.post("customers", {"name": "华为技术", "kind": "company"}).json()
    r = client.post(
        "contacts",
        {
            "customer": company["id"],
            "name": "王经理",
            "title": "采购总监",
            "phone": "139 0013 9000",
            "email": "Wang@Huawei.com",
            "is_primary": True,
        },
    )
    assert r.status_code == 201, r.content
    contact = r.json()
    assert (contact["phone"], contact["email"]) == ("+8613900139000", "wang@huawei.com")
    listed = client.get("contacts", {"customer": company["id"]}).json()
    assert [c["id"] for c in listed["items"]] == [contact["id"]]
    r = client.patch(f"contacts/{contact['id']}", {"title": "副总裁", "phone": "abc"})
    assert "phone" in _is_error(r, 422)["errors"]
    r = client.patch(f"contacts/{contact['id']}", {"title": "副总裁"})
    assert r.json()["title"] == "副总裁"
    # The company is found by its contact's name.
    assert _ids(client.get("customers", {"q": "王经理"})) == {company["id"]}
    assert client.delete(f"contacts/{contact['id']}").status_code == 204
    assert client.get(f"contacts/{contact['id']}").status_code == 404
    assert _ids(client.get("customers", {"q": "王经理"})) == set()


def test_a_person_customer_has_no_contacts(rep, customer, api):
    r = api(rep).post("contacts", {"customer": customer.pk, "name": "王经理"})
    assert "customer" in _is_error(r, 422)["errors"]


def test_contact_with_bad_email_names_the_field(rep, api):
    company = make_customer(rep, kind="company")
    r = api(rep).post("contacts", {"customer": company.pk, "name": "王", "email": "nope"})
    assert "email" in _is_error(r, 422)["errors"]


# Query counts ---------------------------------------------------------------------------------


def test_customer_list_query_count_does_not_grow_with_the_page(
    admin, rep, api, django_assert_max_num_queries
):
    for i in range(50):
        make_customer(
            rep,
            name=f"客户{i}",
            phones=[f"139{i:08d}"],
            emails=[f"c{i}@example.com"],
            tags=["VIP", f"t{i % 3}"],
            addresses=[{"city": "上海"}],
        )
    client = api(admin)
    client.get("me")  # the token's first-use stamp is written once, not per request
    with django_assert_max_num_queries(7):
        r = client.get("customers", {"limit": 50})
    assert len(r.json()["items"]) == 50
    assert all(c["phones"] and c["emails"] and c["tags"] for c in r.json()["items"])
    with django_assert_max_num_queries(7):
        client.get("customers", {"limit": 50, "q": "kehu", "tag": "VIP", "city": "上海"})


def test_stored_values_survive_the_round_trip(rep, api):
    client = api(rep)
    body = {
        "name": "Zoë Müller",
        "company_name": "ACME GmbH",
        "gender": "female",
        "birthday": "1990-05-04",
        "industry": "制造业",
        "company_size": "10-49",
        "business_scope": "进出口贸易",
        "source": "exhibition",
        "preferred_channel": "wechat",
        "external_id": "ERP-42",
        "notes": "多行\n备注",
    }
    created = client.post("customers", body).json()
    for key, value in body.items():
        assert created[key] == value, key
    r = client.patch(f"customers/{created['id']}", {"source": "", "preferred_channel": ""})
    assert r.status_code == 200, r.content
    assert (r.json()["source"], r.json()["preferred_channel"]) == ("", "")


def test_external_id_is_unique(admin, api):
    client = api(admin)
    client.post("customers", {"name": "甲", "external_id": "ERP-1"})
    r = client.post("customers", {"name": "乙", "external_id": "ERP-1"})
    assert "external_id" in _is_error(r, 409)["errors"]


def test_only_admin_may_list_all_users_but_everyone_may_pick_an_owner(rep, api):
    inactive = make_user("gone", "rep")
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])
    names = {u["username"] for u in api(rep).get("users").json()}
    assert "rep1" in names and "gone" not in names


def test_profile_change_summary_names_fields_as_people_read_them(rep, customer, api):
    client = api(rep)
    client.patch(f"customers/{customer.pk}", {"industry": "制造业", "emails": []})
    r = client.client.get(
        f"/api/v1/customers/{customer.pk}/timeline",
        headers={**client.headers, "Accept-Language": "en"},
    )
    summary = next(e["summary"] for e in r.json() if e["kind"] == "updated")
    assert summary == "Profile changed: emails, industry"


def test_a_company_with_contacts_cannot_become_a_person(rep, api):
    client = api(rep)
    company = client.post("customers", {"name": "华为", "kind": "company"}).json()
    client.post("contacts", {"customer": company["id"], "name": "王经理"})
    r = client.patch(f"customers/{company['id']}", {"kind": "person"})
    assert "kind" in _is_error(r, 422)["errors"]
