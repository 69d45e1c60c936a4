"""The customer pages of the staff UI, role by role, through the Django test client."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guanxi.customers.models import Customer
from guanxi.customers.services import custom_field_create
from tests.factories import make_customer, make_order

LIST = "/admin/customers/customer/"
ADD = "/admin/customers/customer/add/"
ROLES = ["admin", "manager", "rep", "agent", "marketer"]


def page_360(customer):
    return reverse("admin:customers_customer_360", args=[customer.pk])


def page_change(customer):
    return reverse("admin:customers_customer_change", args=[customer.pk])


def login(client, user):
    client.force_login(user)
    return client


def customer_form(**fields):
    """POST data for the customer add/change form, with an empty address inline."""
    data = {
        "kind": "person",
        "name": "",
        "company_name": "",
        "stage": "lead",
        "stage_cause": "",
        "phones": "",
        "emails": "",
        "preferred_channel": "",
        "gender": "",
        "birthday": "",
        "industry": "",
        "company_size": "",
        "business_scope": "",
        "source": "",
        "new_tags": "",
        "notes": "",
        "addresses-TOTAL_FORMS": "0",
        "addresses-INITIAL_FORMS": "0",
        "addresses-MIN_NUM_FORMS": "0",
        "addresses-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    data.update(fields)
    return data


@pytest.fixture
def users(admin, manager, rep, agent, marketer):
    return {"admin": admin, "manager": manager, "rep": rep, "agent": agent, "marketer": marketer}


# Lists and pages load -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_customer_pages_load_for_every_role(client, users, customer, role):
    login(client, users[role])
    for url in (LIST, page_360(customer), "/admin/customers/contact/", "/admin/customers/tag/"):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize(
    ("role", "status"),
    [("admin", 200), ("manager", 200), ("rep", 200), ("agent", 403), ("marketer", 403)],
)
def test_add_customer_page_follows_the_role_matrix(client, users, role, status):
    login(client, users[role])
    assert client.get(ADD).status_code == status


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("manager", 403), ("rep", 403)])
def test_custom_field_definitions_are_for_admins_only(client, users, role, status):
    login(client, users[role])
    assert client.get("/admin/customers/customfielddefinition/").status_code == status


def test_agent_opening_the_edit_form_is_sent_to_the_360_page(client, agent, customer):
    login(client, agent)
    r = client.get(page_change(customer))
    assert r.status_code == 302
    assert r["Location"] == page_360(customer)


# Visibility: another rep's customer does not exist -------------------------------------------


def test_rep_gets_404_for_another_reps_customer_everywhere(client, rep2, customer):
    login(client, rep2)
    for url in (
        page_360(customer),
        page_change(customer),
        reverse("admin:customers_customer_delete", args=[customer.pk]),
        reverse("admin:customers_customer_history", args=[customer.pk]),
    ):
        assert client.get(url).status_code == 404, url
    r = client.post(
        reverse("admin:customers_customer_stage", args=[customer.pk]), {"stage": "active"}
    )
    assert r.status_code == 404
    r = client.post(page_change(customer), customer_form(name="Hijacked"))
    assert r.status_code == 404
    customer.refresh_from_db()
    assert customer.name == "张三" and customer.stage == "lead"


def test_rep_list_shows_only_own_customers_also_when_searching(client, rep, rep2):
    mine = make_customer(rep, name="张三丰", phones=["13900139000"])
    theirs = make_customer(rep2, name="张三峰", phones=["13900139001"])
    login(client, rep)
    for query in ("", "?q=zhangsan", "?q=zs", "?q=1390013", "?q=张三"):
        body = client.get(LIST + query).content.decode()
        assert mine.name in body, query
        assert theirs.name not in body, query


def test_search_finds_by_pinyin_initials_phone_email_and_company(client, admin, rep):
    target = make_customer(
        rep,
        name="李小龙",
        phones=["138 0013 8888"],
        emails=["bruce@example.com"],
        company_name="功夫贸易",
    )
    make_customer(rep, name="王大锤")
    login(client, admin)
    for query in ("lixiaolong", "lxl", "0013 8888", "bruce@", "功夫贸易"):
        r = client.get(LIST, {"q": query})
        assert list(r.context["cl"].result_list) == [target], query


def test_customer_list_filters_by_stage_tag_city_and_custom_field(client, admin, rep):
    custom_field_create(
        actor=admin,
        data={"key": "level", "label_zh": "等级", "field_type": "choice", "choices": ["金", "银"]},
    )
    gold = make_customer(
        rep,
        name="金牌客户",
        stage="active",
        tags=["VIP"],
        addresses=[{"province": "浙江省", "city": "杭州市"}],
        custom_fields={"level": "金"},
    )
    make_customer(rep, name="普通客户", custom_fields={"level": "银"})
    login(client, admin)
    for params in (
        {"stage__exact": "active"},
        {"tag": "VIP"},
        {"city": "杭州市"},
        {"cf_level": "金"},
        {"owner": str(rep.pk), "stage__exact": "active"},
    ):
        r = client.get(LIST, params)
        assert r.status_code == 200, params
        assert list(r.context["cl"].result_list) == [gold], params
    # The custom field has a filter of its own.
    assert "cf_level" in client.get(LIST).content.decode()


def test_customer_list_links_to_the_360_page(client, rep, customer):
    login(client, rep)
    body = client.get(LIST).content.decode()
    assert f'href="{page_360(customer)}"' in body


def test_customer_list_query_count_does_not_grow_with_rows(client, rep):
    def count_queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(LIST).status_code == 200
        return len(ctx.captured_queries)

    login(client, rep)
    for i in range(3):
        make_customer(rep, phones=[f"1370000{i:04d}"], tags=["A", "B"], emails=[f"a{i}@x.cn"])
    few = count_queries()
    for i in range(3, 30):
        make_customer(rep, phones=[f"1370000{i:04d}"], tags=["A", "B"], emails=[f"a{i}@x.cn"])
    assert count_queries() == few


def test_customer_list_query_count_is_pinned(client, rep, django_assert_max_num_queries):
    for i in range(25):
        make_customer(rep, phones=[f"1360000{i:04d}"], tags=["VIP"], emails=[f"b{i}@x.cn"])
    login(client, rep)
    # (+2 since the segment and tier filters list their choices)
    with django_assert_max_num_queries(18):
        assert client.get(LIST).status_code == 200


# Saving through the services ------------------------------------------------------------------


def test_rep_creates_a_customer_and_lands_on_its_360_page(client, rep):
    login(client, rep)
    r = client.post(
        ADD,
        customer_form(
            name="赵云",
            phones="138 0013 8000\n+86-139-0013-9000",
            emails="ZhaoYun@Example.com",
            new_tags="VIP，老客户",
            **{
                "addresses-TOTAL_FORMS": "1",
                "addresses-0-province": "四川省",
                "addresses-0-city": "成都市",
                "addresses-0-district": "武侯区",
                "addresses-0-street": "人民南路 1 号",
            },
        ),
    )
    customer = Customer.objects.get(name="赵云")
    assert r.status_code == 302 and r["Location"] == page_360(customer)
    assert customer.owner == rep
    assert list(customer.phones.values_list("number", flat=True)) == [
        "+8613800138000",
        "+8613900139000",
    ]
    assert list(customer.emails.values_list("email", flat=True)) == ["zhaoyun@example.com"]
    assert sorted(customer.tags.values_list("name", flat=True)) == ["VIP", "老客户"]
    assert customer.addresses.get().city == "成都市"
    page = client.get(page_360(customer)).content.decode()
    assert "成都市" in page and "VIP" in page


def test_bad_phone_is_reported_on_the_phones_field(client, rep):
    login(client, rep)
    r = client.post(ADD, customer_form(name="坏号码", phones="12345"))
    assert r.status_code == 200
    form = r.context["adminform"].form
    assert "phones" in form.errors
    assert "12345" in form.errors["phones"][0]
    assert not Customer.objects.filter(name="坏号码").exists()


def test_custom_field_is_on_the_form_validated_and_saved(client, admin, rep):
    custom_field_create(
        actor=admin,
        data={
            "key": "budget",
            "label_zh": "预算",
            "label_en": "Budget",
            "field_type": "number",
            "max_value": 1000,
        },
    )
    login(client, rep)
    page = client.get(ADD, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="cf_budget"' in page and "Budget" in page
    r = client.post(ADD, customer_form(name="预算太高", cf_budget="5000"))
    assert r.status_code == 200 and "cf_budget" in r.context["adminform"].form.errors
    r = client.post(ADD, customer_form(name="预算正常", cf_budget="800"))
    assert r.status_code == 302
    assert Customer.objects.get(name="预算正常").custom_fields == {"budget": 800}


def test_duplicate_phone_warns_with_a_link_and_save_anyway_creates(client, rep, customer):
    login(client, rep)
    r = client.post(ADD, customer_form(name="张三二号", phones="+86 138 0013 8000"))
    assert r.status_code == 200
    body = r.content.decode()
    assert 'id="duplicate-warning"' in body
    assert f'href="{page_360(customer)}"' in body and "张三" in body
    assert 'name="allow_duplicate"' in body
    assert not Customer.objects.filter(name="张三二号").exists()
    r = client.post(
        ADD, customer_form(name="张三二号", phones="+86 138 0013 8000", allow_duplicate="on")
    )
    assert r.status_code == 302
    assert Customer.objects.filter(name="张三二号").exists()


def test_duplicate_of_a_customer_the_rep_cannot_see_is_not_named(client, rep2, customer):
    login(client, rep2)
    r = client.post(ADD, customer_form(name="撞号", emails="zhangsan@example.com"))
    body = r.content.decode()
    assert 'id="duplicate-warning"' in body
    assert page_360(customer) not in body


def test_rep_edits_own_customer_and_the_change_is_audited(client, rep, customer):
    login(client, rep)
    data = customer_form(
        name="张三",
        phones="+8613800138000",
        emails="zhangsan@example.com",
        industry="茶叶",
        stage="active",
        stage_cause="首次成交",
    )
    r = client.post(page_change(customer), data)
    assert r.status_code == 302, r.context["adminform"].form.errors if r.context else r
    customer.refresh_from_db()
    assert customer.industry == "茶叶" and customer.stage == "active"
    change = customer.stage_changes.first()
    assert change.cause == "首次成交" and change.actor == rep
    page = client.get(page_360(customer)).content.decode()
    assert "首次成交" in page


def test_rep_cannot_hand_a_customer_to_someone_else_through_the_form(client, rep, rep2, customer):
    login(client, rep)
    page = client.get(page_change(customer)).content.decode()
    assert 'name="owner"' not in page
    client.post(page_change(customer), customer_form(name="张三", owner=str(rep2.pk)))
    customer.refresh_from_db()
    assert customer.owner == rep


def test_marketer_cannot_post_the_edit_form(client, marketer, customer):
    login(client, marketer)
    r = client.post(page_change(customer), customer_form(name="改名"))
    assert r.status_code == 403
    customer.refresh_from_db()
    assert customer.name == "张三"


def test_deleting_a_customer_with_orders_shows_the_reason(client, manager, rep, customer):
    make_order(rep, customer)
    login(client, manager)
    r = client.post(reverse("admin:customers_customer_delete", args=[customer.pk]), {"post": "yes"})
    assert r.status_code == 302
    assert Customer.objects.filter(pk=customer.pk).exists()
    messages = [str(m) for m in client.get(page_change(customer)).context["messages"]]
    assert any("orders" in m for m in messages)


# Bulk actions ---------------------------------------------------------------------------------


def test_manager_assigns_owner_in_bulk_through_an_intermediate_page(
    client, manager, rep, rep2, far_rep
):
    ours = make_customer(rep, name="我们的")
    theirs = make_customer(far_rep, name="别人的")
    login(client, manager)
    ids = [str(ours.pk), str(theirs.pk)]
    r = client.post(LIST, {"action": "assign_owner", "_selected_action": ids, "index": "0"})
    assert r.status_code == 200
    assert 'name="owner"' in r.content.decode()
    r = client.post(
        LIST,
        {
            "action": "assign_owner",
            "_selected_action": ids,
            "index": "0",
            "apply": "1",
            "owner": str(rep2.pk),
        },
    )
    assert r.status_code == 302
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert ours.owner == rep2
    assert theirs.owner == far_rep  # outside the manager's team: untouched


def test_rep_has_no_assign_owner_action(client, rep, rep2, customer):
    login(client, rep)
    r = client.post(
        LIST,
        {
            "action": "assign_owner",
            "_selected_action": [str(customer.pk)],
            "index": "0",
            "apply": "1",
            "owner": str(rep2.pk),
        },
    )
    customer.refresh_from_db()
    assert customer.owner == rep
    assert r.status_code in (200, 302)


def test_bulk_tagging_touches_only_customers_the_actor_may_tag(client, rep, rep2):
    mine = make_customer(rep, name="我的")
    other = make_customer(rep2, name="他的")
    login(client, rep)
    r = client.post(
        LIST,
        {
            "action": "add_tags",
            "_selected_action": [str(mine.pk), str(other.pk)],
            "index": "0",
            "apply": "1",
            "new_tags": "重点, 回访",
        },
    )
    assert r.status_code == 302
    assert sorted(mine.tags.values_list("name", flat=True)) == ["回访", "重点"]
    assert not other.tags.exists()
    r = client.post(
        LIST,
        {
            "action": "remove_tags",
            "_selected_action": [str(mine.pk)],
            "index": "0",
            "apply": "1",
            "tags": ["回访"],
        },
    )
    assert list(mine.tags.values_list("name", flat=True)) == ["重点"]


def test_marketer_may_tag_in_bulk_but_not_edit(client, marketer, rep, customer):
    login(client, marketer)
    r = client.post(
        LIST,
        {
            "action": "add_tags",
            "_selected_action": [str(customer.pk)],
            "index": "0",
            "apply": "1",
            "new_tags": "活动",
        },
    )
    assert r.status_code == 302
    assert list(customer.tags.values_list("name", flat=True)) == ["活动"]


# The 360° page --------------------------------------------------------------------------------


def test_360_page_shows_profile_timeline_orders_tasks_and_placeholders(client, rep, customer):
    from guanxi.interactions.services import interaction_log, task_create

    make_order(
        rep,
        customer,
        number="SO-360",
        lines=[{"product_name": "龙井茶", "quantity": 2, "unit_price": "88.00"}],
    )
    interaction_log(actor=rep, customer=customer, data={"kind": "call", "subject": "回访电话"})
    task_create(actor=rep, customer=customer, data={"title": "寄样品"})
    login(client, rep)
    body = client.get(page_360(customer), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for text in (
        "张三",
        "+86 138 0013 8000",
        "zhangsan@example.com",
        "SO-360",
        "龙井茶",
        "176.00",
        "回访电话",
        "寄样品",
        'id="timeline"',
        'id="stage-history"',
        'id="audit"',
        "Value (RFM, CLV, P(alive))",
        "Loyalty",
    ):
        assert text in body, text
    # Before any value refresh the value card says so; the loyalty card shows the membership
    # the first order made (its pages: guanxi/loyalty/tests/test_pages.py).
    start = body.index('id="value"')
    assert "Not computed yet" in body[start : body.index("</section>", start)]
    start = body.index('id="loyalty"')
    assert 'id="loyalty-balance"' in body[start : body.index("</section>", start)]


def test_stage_change_from_the_360_page_is_recorded(client, rep, customer):
    login(client, rep)
    r = client.post(
        reverse("admin:customers_customer_stage", args=[customer.pk]),
        {"stage": "active", "cause": "签约"},
    )
    assert r.status_code == 302 and r["Location"] == page_360(customer)
    customer.refresh_from_db()
    assert customer.stage == "active"
    assert customer.stage_changes.first().cause == "签约"


def test_rep_cannot_terminate_a_relationship_from_the_360_page(client, rep, customer):
    login(client, rep)
    client.post(
        reverse("admin:customers_customer_stage", args=[customer.pk]),
        {"stage": "terminated", "cause": "不合作"},
    )
    customer.refresh_from_db()
    assert customer.stage == "lead"


def test_customer_autocomplete_is_scoped_to_the_actor(client, rep, rep2):
    make_customer(rep, name="张三丰")
    make_customer(rep2, name="张三峰")
    login(client, rep)
    r = client.get(
        "/admin/autocomplete/",
        {
            "app_label": "interactions",
            "model_name": "interaction",
            "field_name": "customer",
            "term": "zhangsan",
        },
    )
    assert r.status_code == 200
    names = [row["text"] for row in r.json()["results"]]
    assert names == ["张三丰"]


# Dashboard ------------------------------------------------------------------------------------


def test_dashboard_figures_are_scoped_to_the_viewer(client, admin, manager, rep, far_rep):
    mine = make_customer(rep, name="我的客户")
    far = make_customer(far_rep, name="远方客户")
    make_order(rep, mine, total="150.00")
    make_order(far_rep, far, total="300.00")

    def cards(user):
        login(client, user)
        r = client.get("/admin/")
        assert r.status_code == 200
        return {c["icon"]: c["value"] for c in r.context["kpi_cards"]}

    assert cards(rep)["payments"] == "¥150.00"
    assert cards(rep)["groups"] == "1"
    assert cards(far_rep)["payments"] == "¥300.00"
    assert cards(manager)["payments"] == "¥150.00"  # the far rep is in another team
    assert cards(admin)["payments"] == "¥450.00"
    assert cards(admin)["groups"] == "2"


def test_dashboard_renders_charts_without_a_cdn(client, rep, customer):
    login(client, rep)
    body = client.get("/admin/").content.decode()
    assert body.count('class="chart"') == 3
    assert "unfold/js/chart/chart.js" in body
    assert "cdn." not in body and "https://" not in body.split("<body", 1)[0]


def test_reports_agree_with_the_orders(rep, customer):
    from guanxi.customers import reports

    make_order(rep, customer, total="99.50")
    months = reports.revenue_per_month(actor=rep)
    assert len(months) == 12
    assert months[-1]["revenue"] == Decimal("99.50")
    assert reports.kpis(actor=rep)["orders"] == 1
    stages = {s["stage"]: s["count"] for s in reports.customers_by_stage(actor=rep)}
    assert stages["new"] == 1  # the first order moved the lead to "new"
