"""Custom fields: admins define them through the API; values are validated, filterable, shown."""

import pytest

from guanxi.customers.models import Customer
from tests.factories import make_customer


@pytest.fixture
def fields(admin, api):
    client = api(admin)
    definitions = [
        {"key": "budget", "label_zh": "预算", "label_en": "Budget", "field_type": "number",
         "min_value": 0, "max_value": 1000000},
        {"key": "contract_date", "label_zh": "签约日期", "field_type": "date"},
        {"key": "level", "label_zh": "客户级别", "field_type": "choice",
         "choices": ["金牌", "银牌", "铜牌"]},
        {"key": "wechat", "label_zh": "微信号", "field_type": "text", "max_length": 20},
    ]  # fmt: skip
    for d in definitions:
        r = client.post("custom-fields", d)
        assert r.status_code == 201, r.content
    return definitions


def test_admin_defines_fields_of_each_type(admin, api, fields):
    listed = api(admin).get("custom-fields").json()
    assert [f["key"] for f in listed] == ["budget", "contract_date", "level", "wechat"]
    level = next(f for f in listed if f["key"] == "level")
    assert level["choices"] == ["金牌", "银牌", "铜牌"]
    budget = next(f for f in listed if f["key"] == "budget")
    assert (budget["min_value"], budget["max_value"]) == (0, 1000000)


@pytest.mark.parametrize("role", ["manager", "rep", "agent", "marketer"])
def test_only_admins_manage_fields(request, api, fields, role):
    client = api(request.getfixturevalue(role))
    assert client.get("custom-fields").status_code == 200  # everyone may read them
    body = {"key": "x", "label_zh": "x", "field_type": "text"}
    assert client.post("custom-fields", body).status_code == 403
    assert client.patch("custom-fields/budget", {"label_zh": "y"}).status_code == 403
    assert client.delete("custom-fields/budget").status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"key": "Bad Key", "label_zh": "x", "field_type": "text"}, "key"),
        ({"key": "budget", "label_zh": "x", "field_type": "text"}, "key"),
        ({"key": "x", "label_zh": "", "field_type": "text"}, "label_zh"),
        ({"key": "x", "label_zh": "x", "field_type": "colour"}, "field_type"),
        ({"key": "x", "label_zh": "x", "field_type": "choice"}, "choices"),
        ({"key": "x", "label_zh": "x", "field_type": "choice", "choices": [" "]}, "choices"),
        ({"key": "x", "label_zh": "x", "field_type": "number", "min_value": 5, "max_value": 1},
         "max_value"),
        ({"key": "x", "label_zh": "x", "field_type": "number", "min_value": 1e30}, "min_value"),
        ({"key": "x", "label_zh": "x" * 101, "field_type": "text"}, "label_zh"),
        ({"key": "x", "label_zh": "x", "field_type": "text", "created_at": "x"}, "created_at"),
    ],
)  # fmt: skip
def test_bad_definitions_are_refused_naming_the_field(admin, api, fields, body, field):
    r = api(admin).post("custom-fields", body)
    assert r.status_code in (409, 422), r.content
    assert field in r.json()["errors"]


def test_key_cannot_change_and_unknown_keys_are_404(admin, api, fields):
    client = api(admin)
    assert client.patch("custom-fields/budget", {"key": "money"}).status_code == 422
    assert client.patch("custom-fields/nope", {"label_zh": "x"}).status_code == 404
    assert client.patch("custom-fields/BAD KEY", {"label_zh": "x"}).status_code == 404
    r = client.patch("custom-fields/budget", {"label_en": "Budget (CNY)", "required": None})
    assert "required" in r.json()["errors"]
    r = client.patch("custom-fields/budget", {"label_en": "Budget (CNY)"})
    assert r.json()["label_en"] == "Budget (CNY)"


def test_values_are_validated_and_shown_in_the_customer_json(rep, api, fields):
    client = api(rep)
    r = client.post(
        "customers",
        {
            "name": "张三",
            "custom_fields": {
                "budget": "50000",
                "contract_date": "2024-03-01",
                "level": "金牌",
                "wechat": " zs_wx ",
            },
        },
    )
    assert r.status_code == 201, r.content
    assert r.json()["custom_fields"] == {
        "budget": 50000,
        "contract_date": "2024-03-01",
        "level": "金牌",
        "wechat": "zs_wx",
    }
    cid = r.json()["id"]
    # A patch merges: keys not named are kept; an empty value removes one.
    r = client.patch(f"customers/{cid}", {"custom_fields": {"budget": 60000.5, "wechat": ""}})
    assert r.json()["custom_fields"] == {
        "budget": 60000.5,
        "contract_date": "2024-03-01",
        "level": "金牌",
    }


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"budget": "lots"}, "custom_fields.budget"),
        ({"budget": -1}, "custom_fields.budget"),
        ({"budget": 1000001}, "custom_fields.budget"),
        ({"budget": True}, "custom_fields.budget"),
        ({"contract_date": "2024-02-30"}, "custom_fields.contract_date"),
        ({"contract_date": "01/03/2024"}, "custom_fields.contract_date"),
        ({"level": "钻石"}, "custom_fields.level"),
        ({"wechat": "x" * 21}, "custom_fields.wechat"),
        ({"wechat": ["a", "b"]}, "custom_fields.wechat"),
        ({"nope": "x"}, "custom_fields.nope"),
    ],
)
def test_bad_values_are_refused_naming_the_custom_field(rep, api, fields, values, field):
    r = api(rep).post("customers", {"name": "张三", "custom_fields": values})
    assert r.status_code == 422
    assert field in r.json()["errors"]
    assert not Customer.objects.filter(name="张三").exists()


def test_a_required_field_must_be_given(admin, rep, api, fields):
    api(admin).patch("custom-fields/level", {"required": True})
    r = api(rep).post("customers", {"name": "张三"})
    assert "custom_fields.level" in r.json()["errors"]
    r = api(rep).post("customers", {"name": "张三", "custom_fields": {"level": "银牌"}})
    assert r.status_code == 201
    r = api(rep).patch(f"customers/{r.json()['id']}", {"custom_fields": {"level": None}})
    assert "custom_fields.level" in r.json()["errors"]


def test_filter_by_custom_field_value_and_range(admin, rep, api, fields):
    a = make_customer(rep, name="甲", custom_fields={"budget": 100, "level": "金牌"})
    b = make_customer(rep, name="乙", custom_fields={"budget": 5000, "contract_date": "2024-06-01"})
    make_customer(rep, name="丙")
    client = api(rep)

    def ids(**params):
        r = client.get("customers", params)
        assert r.status_code == 200, r.content
        return {c["id"] for c in r.json()["items"]}

    assert ids(cf_level="金牌") == {a.pk}
    assert ids(cf_budget="5000") == {b.pk}
    assert ids(cf_budget__gte="1000") == {b.pk}
    assert ids(cf_budget__lte="1000") == {a.pk}
    assert ids(cf_contract_date__gte="2024-01-01") == {b.pk}
    assert ids(cf_level="金牌", cf_budget="100") == {a.pk}
    for bad in [
        {"cf_level": "钻石"},
        {"cf_budget": "x"},
        {"cf_nope": "1"},
        {"cf_budget__in": "1"},
        {"cf_wechat": "a\x00b"},
    ]:
        r = client.get("customers", bad)
        assert r.status_code == 422
        assert next(iter(bad)) in r.json()["errors"]


def test_retired_field_keeps_its_values_but_is_no_longer_validated(admin, rep, api, fields):
    customer = make_customer(rep, name="甲", custom_fields={"level": "金牌"})
    client = api(admin)
    assert client.delete("custom-fields/level").status_code == 204
    assert [f["key"] for f in client.get("custom-fields").json()] == [
        "budget",
        "contract_date",
        "wechat",
    ]
    retired = client.get("custom-fields", {"include_inactive": True}).json()
    assert next(f for f in retired if f["key"] == "level")["is_active"] is False
    # The stored value stays, and other edits do not trip over it.
    r = api(rep).patch(f"customers/{customer.pk}", {"custom_fields": {"budget": 1}})
    assert r.status_code == 200
    assert r.json()["custom_fields"] == {"level": "金牌", "budget": 1}
    # A retired field cannot be written any more.
    r = api(rep).patch(f"customers/{customer.pk}", {"custom_fields": {"level": "银牌"}})
    assert "custom_fields.level" in r.json()["errors"]
    # Required no more once retired.
    client.patch("custom-fields/level", {"required": True})
    assert api(rep).post("customers", {"name": "乙"}).status_code == 201
