"""Search as a Chinese sales team expects it, through `GET /api/v1/customers?q=`.

Runs on SQLite (FTS5 trigram table) and PostgreSQL (pg_trgm GIN index) alike.
"""

import pytest
from django.db import connection

from guanxi.customers.search_index import FTS, PG_INDEX, SQLITE_TRIGGERS, ensure_search_index
from guanxi.customers.services import contact_create
from tests.factories import make_customer


def _names(client, q, **params):
    r = client.get("customers", {"q": q, **params})
    assert r.status_code == 200, r.content
    return {c["name"] for c in r.json()["items"]}


@pytest.fixture
def people(rep):
    make_customer(
        rep,
        name="张三",
        phones=["138 0013 8000"],
        emails=["ZhangSan@Example.com"],
        company_name="阿里巴巴",
    )
    make_customer(rep, name="李四", phones=["010-8765 4321"], emails=["lisi@corp.cn"])
    make_customer(rep, name="曾小明")
    make_customer(rep, name="单田芳")
    make_customer(rep, name="John Smith", emails=["john.smith@acme.com"])
    company = make_customer(rep, name="华为技术有限公司", kind="company")
    contact_create(actor=rep, customer=company, data={"name": "王经理", "title": "采购"})


@pytest.mark.parametrize("q", ["zhangsan", "zs", "张三", "ZhangSan", "zhang san", "ZS"])
def test_pinyin_initials_and_characters_find_zhangsan(rep, api, people, q):
    assert "张三" in _names(api(rep), q)


@pytest.mark.parametrize(
    ("q", "name"),
    [("zeng", "曾小明"), ("zengxiaoming", "曾小明"), ("zxm", "曾小明"), ("shan", "单田芳")],
)
def test_polyphonic_surnames_use_their_surname_reading(rep, api, people, q, name):
    assert name in _names(api(rep), q)


@pytest.mark.parametrize("q", ["cengxiaoming", "dantianfang"])
def test_polyphonic_surnames_are_not_found_by_the_common_reading(rep, api, people, q):
    assert _names(api(rep), q) == set()


@pytest.mark.parametrize("q", ["john", "Smith", "john smith", "js", "johnsmith"])
def test_english_names(rep, api, people, q):
    assert "John Smith" in _names(api(rep), q)


@pytest.mark.parametrize(
    "q",
    [
        "0013",
        "8000",
        "00138000",
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "+8613800138000",
        "8613800138000",
        "+86 138",
    ],
)
def test_any_part_of_the_phone_with_or_without_country_code(rep, api, people, q):
    assert _names(api(rep), q) == {"张三"}


def test_landline_by_its_local_part(rep, api, people):
    assert _names(api(rep), "87654321") == {"李四"}
    assert _names(api(rep), "4321") == {"李四"}


@pytest.mark.parametrize("q", ["zhangsan@", "ZhangSan@Example.com", "example.com", "@example"])
def test_email_fragments(rep, api, people, q):
    assert _names(api(rep), q) == {"张三"}


@pytest.mark.parametrize("q", ["华为技术", "huawei", "华为技术有限公司"])
def test_company_name(rep, api, people, q):
    assert "华为技术有限公司" in _names(api(rep), q)


def test_person_found_by_the_company_they_work_for(rep, api, people):
    assert _names(api(rep), "阿里巴巴") == {"张三"}
    assert _names(api(rep), "alibaba") == {"张三"}


@pytest.mark.parametrize("q", ["王经理", "wangjingli"])
def test_company_found_by_its_contacts_name(rep, api, people, q):
    assert _names(api(rep), q) == {"华为技术有限公司"}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("z", {"张三", "曾小明"}),  # prefix of pinyin or initials
        ("zh", {"张三"}),
        ("zs", {"张三"}),
        ("张", {"张三"}),  # prefix of the name
        ("Jo", {"John Smith"}),
        ("s", {"单田芳"}),
    ],
)
def test_short_queries_match_the_start_of_name_pinyin_or_initials(rep, api, people, q, expected):
    assert _names(api(rep), q) == expected


@pytest.mark.parametrize("q", ["三", "an", "00"])
def test_short_queries_do_not_match_the_middle(rep, api, people, q):
    assert _names(api(rep), q) == set()


def test_search_sees_only_what_the_actor_may_see(rep, far_rep, manager, api, people):
    assert _names(api(far_rep), "zhangsan") == set()
    assert _names(api(far_rep), "13800138000") == set()
    assert _names(api(far_rep), "z") == set()
    assert _names(api(manager), "zhangsan") == {"张三"}


def test_search_follows_renames_and_deletions(admin, rep, api, people):
    client = api(admin)
    zhang = client.get("customers", {"q": "zhangsan"}).json()["items"][0]
    client.patch(f"customers/{zhang['id']}", {"name": "张三丰", "phones": ["139 0000 1111"]})
    assert _names(client, "zhangsanfeng") == {"张三丰"}
    assert _names(client, "13800138000") == set()
    assert _names(client, "00001111") == {"张三丰"}
    client.delete(f"customers/{zhang['id']}")
    assert _names(client, "zhangsanfeng") == set()


@pytest.mark.parametrize(
    "q",
    ['"', '""', "%", "_", "'", "\\", "*", "a OR b", "NEAR(", "zs*", "--", "()", "+++", "😀😀😀"],
)
def test_odd_characters_in_a_query_are_just_text(rep, api, people, q):
    r = api(rep).get("customers", {"q": q})
    assert r.status_code == 200
    assert r.json()["items"] == []


def test_overlong_or_nul_queries_are_refused(rep, api):
    assert api(rep).get("customers", {"q": "x" * 201}).status_code == 422
    r = api(rep).get("customers", {"q": "a\x00b"})
    assert r.status_code == 422
    assert "q" in r.json()["errors"]


def test_search_combines_with_other_filters(rep, api, people):
    assert _names(api(rep), "z", kind="company") == set()
    assert _names(api(rep), "huawei", kind="company") == {"华为技术有限公司"}


def test_the_trigram_index_of_this_database_is_in_place(db):
    assert ensure_search_index(connection) is False  # nothing was missing
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE name LIKE %s", [f"{FTS}%"])
            names = {row[0] for row in cursor.fetchall()}
            assert {FTS, *SQLITE_TRIGGERS} <= names
        else:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [PG_INDEX])
            assert "gin_trgm_ops" in cursor.fetchone()[0]


@pytest.mark.parametrize("probe", [3, 1000])
def test_search_pages_are_newest_first_with_a_bounded_count(rep, far_rep, api, monkeypatch, probe):
    """Whether the matches fit in the id probe or not, pages come newest first and the count
    stops at the limit, saying so; another rep's matches never appear."""
    from guanxi.core import pagination
    from guanxi.customers import api as customers_api

    monkeypatch.setattr(pagination, "PROBE", probe)
    monkeypatch.setattr(customers_api, "SEARCH_COUNT_LIMIT", 4)
    mine = [make_customer(rep, name=f"王芳{i}").pk for i in range(6)]
    make_customer(far_rep, name="王芳远")
    client = api(rep)

    first = client.get("customers", {"q": "wf", "limit": 2}).json()
    assert [c["id"] for c in first["items"]] == mine[::-1][:2]
    assert (first["count"], first["count_exact"]) == (4, False)
    rest = client.get("customers", {"q": "王芳", "limit": 5, "offset": 2}).json()
    assert [c["id"] for c in rest["items"]] == mine[::-1][2:]

    monkeypatch.setattr(customers_api, "SEARCH_COUNT_LIMIT", 10)
    page = client.get("customers", {"q": "wangfang", "limit": 4, "offset": 4}).json()
    assert [c["id"] for c in page["items"]] == mine[::-1][4:]
    assert (page["count"], page["count_exact"]) == (6, True)
