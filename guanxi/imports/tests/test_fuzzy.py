"""Duplicates that share no phone, email or external id: found by the probabilistic matcher
against the database (through the match-key index) and within the file."""

import pytest

from guanxi.customers.models import Customer, DuplicateReview
from guanxi.imports import match_index
from guanxi.imports.models import MatchKey, MatchRecord
from tests.factories import make_customer

from .helpers import csv_bytes, post_import

HEADER = ["姓名", "手机", "生日", "市", "地址", "邮箱"]


@pytest.fixture
def zhang(rep):
    return make_customer(rep, name="张三", phones=["13800138000"], birthday="1990-01-05",
                         addresses=[{"city": "杭州", "street": "西湖路1号"}])  # fmt: skip


def _import(api, admin, immediate_tasks, rows, **options):
    client = api(admin)
    job = post_import(client, csv_bytes([HEADER, *rows]), **options).json()
    preview = client.get(f"imports/{job['id']}/preview").json()
    with immediate_tasks(execute=True):
        client.post(f"imports/{job['id']}/start")
    return preview, client.get(f"imports/{job['id']}").json()


def test_a_homophone_with_another_phone_is_merged_into_the_stored_customer(
    api, admin, immediate_tasks, zhang
):
    row = ["章三", "13700137000", "1990/1/5", "杭州", "西湖路1号", ""]
    preview, done = _import(api, admin, immediate_tasks, [row])
    assert preview["rows"][0]["outcome"] == {"action": "merged", "customer": zhang.pk}
    assert done["counts"] == {"merged": 1}
    assert Customer.objects.get().phones.count() == 2  # the new number was added


def test_likely_but_not_certain_goes_to_review_with_its_evidence(api, admin, immediate_tasks, rep):
    stored = make_customer(rep, name="张三丰", phones=["13800138000"], birthday="1990-01-05",
                           addresses=[{"city": "杭州"}])  # fmt: skip
    _preview, done = _import(api, admin, immediate_tasks,
                             [["张三丰", "", "1990-01-15", "杭州", "", ""]])  # fmt: skip
    assert done["counts"] == {"review": 1}, done
    review = DuplicateReview.objects.get()
    assert review.other_id == stored.pk and 0.5 <= review.score < 0.99
    assert {e["field"] for e in review.explanation} >= {"name"}
    assert all({"field", "level", "weight", "labels"} <= set(e) for e in review.explanation)
    assert {"en", "zh-hans"} == set(review.explanation[0]["labels"])


def test_people_who_only_share_a_common_name_are_left_apart(api, admin, immediate_tasks, zhang):
    _preview, done = _import(api, admin, immediate_tasks,
                             [["张三", "13700137000", "1975-07-07", "北京", "", ""]])  # fmt: skip
    assert done["counts"] == {"created": 1}
    assert not DuplicateReview.objects.exists()


def test_within_the_file_a_typo_in_the_phone_is_the_same_person(api, admin, immediate_tasks):
    _preview, done = _import(api, admin, immediate_tasks, [
        ["王五", "13600136000", "1970-01-01", "北京", "", ""],
        ["王五", "13600136001", "1970-01-01", "北京", "", ""],
    ])  # fmt: skip
    assert done["counts"] == {"created": 1, "merged": 1}
    assert Customer.objects.get().phones.count() == 2


def test_skip_mode_names_the_likely_duplicate(api, admin, immediate_tasks, zhang):
    _preview, done = _import(api, admin, immediate_tasks,
                             [["章三", "13700137000", "1990-01-05", "杭州", "西湖路1号", ""]],
                             on_duplicate="skip")  # fmt: skip
    assert done["counts"] == {"skipped": 1}
    issue = api(admin).get(f"imports/{done['id']}/issues").json()["items"][0]
    assert f"#{zhang.pk}" in issue["message"] and "%" in issue["message"]


def test_the_index_follows_the_customers(rep, admin):
    from guanxi.customers.services import customer_update

    customer = make_customer(rep, name="李四", phones=["13900139000"])
    assert match_index.pending() == 1  # never indexed: every customer
    assert match_index.refresh() == 1
    stored = set(MatchKey.objects.values_list("key", flat=True))
    assert match_index.key_hash("pl:0139000") in stored  # the last seven digits of the phone
    assert match_index.key_hash("py:lisi") in stored
    assert match_index.pending() == 0
    customer_update(actor=rep, customer=customer, data={"phones": ["13900239001"]})
    assert match_index.pending() == 1 and match_index.refresh() == 1
    stored = set(MatchKey.objects.values_list("key", flat=True))
    assert match_index.key_hash("pl:0239001") in stored
    assert match_index.key_hash("pl:0139000") not in stored
    # What the matcher compares is stored beside the keys, and follows the change too.
    (kept,) = match_index.features_of([customer.pk]).values()
    assert kept.phones == ("+8613900239001",) and kept.pinyin == "lisi"
    customer.delete()
    assert not MatchKey.objects.exists() and not MatchRecord.objects.exists()


def test_a_stored_record_is_what_the_customer_would_give(rep):
    from guanxi.customers.selectors import customer_match_records_of
    from guanxi.imports.matching import features

    customer = make_customer(rep, name="Zhāng Wěi 张伟", phones=["010-6552 8888 转 12"],
                             emails=["Wei.Zhang@Example.COM"], birthday="1990-01-05",
                             addresses=[{"province": "浙江省", "city": "杭州市",
                                         "street": "西湖区文三路 88 号"}])  # fmt: skip
    match_index.refresh()
    ((_pk, record),) = customer_match_records_of(ids=[customer.pk])
    (kept,) = match_index.features_of([customer.pk]).values()
    assert kept == features(record) and kept.codes == features(record).codes
    with pytest.raises(ValueError):
        match_index.decode('["only", "two"]')


def test_a_candidate_whose_record_is_missing_is_read_from_the_customer(
    api, admin, immediate_tasks, zhang
):
    match_index.refresh()
    MatchRecord.objects.all().delete()  # an index written before records were kept
    row = ["章三", "13700137000", "1990/1/5", "杭州", "西湖路1号", ""]
    _preview, done = _import(api, admin, immediate_tasks, [row])
    assert done["counts"] == {"merged": 1}


def test_a_manager_is_never_matched_to_a_customer_outside_the_team(
    api, manager, far_rep, immediate_tasks
):
    hidden = make_customer(far_rep, name="张三", phones=["13800138000"], birthday="1990-01-05",
                           addresses=[{"city": "杭州", "street": "西湖路1号"}])  # fmt: skip
    client = api(manager)
    row = ["章三", "13700137000", "1990-01-05", "杭州", "西湖路1号", ""]
    job = post_import(client, csv_bytes([HEADER, row])).json()
    with immediate_tasks(execute=True):
        client.post(f"imports/{job['id']}/start")
    assert client.get(f"imports/{job['id']}").json()["counts"] == {"created": 1}
    assert not DuplicateReview.objects.filter(other=hidden).exists()


def test_name_parts_are_counted_over_all_customers(rep, monkeypatch):
    from guanxi.imports.models import NamePart

    for i in range(3):
        make_customer(rep, name="张伟", phones=[f"1390013900{i}"])
    make_customer(rep, name="欧阳娜娜")
    match_index.refresh()
    counts = dict(NamePart.objects.values_list("part", "count"))
    assert counts["zhang"] == 3 and counts["wei"] == 3 and counts["ouyang"] == 1
    assert match_index.name_part_frequencies() is None  # too few customers to tell
    from guanxi.imports.models import MatchIndexState

    MatchIndexState.objects.update(people=1000)
    assert match_index.name_part_frequencies()["zhang"] == pytest.approx(0.003)
    # Indexing a customer again (a change) does not count their name twice.
    match_index.reindex(list(Customer.objects.values_list("pk", flat=True)))
    assert NamePart.objects.get(part="zhang").count == 3


def _keys() -> set[tuple[int, int]]:
    return set(MatchKey.objects.values_list("customer_id", "key"))


def _rebuilt_keys() -> set[tuple[int, int]]:
    """The keys a refresh from scratch gives the customers as they are now."""
    from guanxi.imports.models import MatchIndexState

    MatchKey.objects.all().delete()
    MatchRecord.objects.all().delete()
    MatchIndexState.objects.update(indexed_until=None)
    match_index.refresh()
    return _keys()


@pytest.mark.parametrize("resumable", [False, True])
def test_the_keys_an_import_writes_are_those_of_the_customers_it_leaves(
    api, admin, immediate_tasks, monkeypatch, resumable
):
    """All or nothing: the new customers' keys are held until the import ends, then written;
    resumable: with each chunk. Either way, across chunks, the rows of a later chunk find the
    customers an earlier one created (a homophone merged into its row of three chunks
    before), and the keys left are exactly what a refresh from scratch would give, those of
    the customers merged into included."""
    from guanxi.imports import pipeline

    monkeypatch.setattr(pipeline, "CHUNK", 2)
    rows = [
        ["张三", "13800138000", "1990-01-05", "杭州", "西湖路1号", ""],
        ["李四", "13900139000", "1980-02-02", "北京", "", "li@example.com"],
        ["王五", "13600136000", "1970-01-01", "上海", "", ""],
        ["赵六", "13500135000", "1985-03-03", "深圳", "", ""],
        ["孙七", "13300133000", "1975-04-04", "广州", "", ""],
        ["钱八", "13200132000", "1995-05-05", "成都", "", ""],
        ["章三", "13700137000", "1990/1/5", "杭州", "西湖路1号", "zhang@example.com"],
    ]
    options = {"resumable": "true"} if resumable else {}
    _preview, done = _import(api, admin, immediate_tasks, rows, **options)
    assert done["counts"] == {"created": 6, "merged": 1}, done
    zhang = Customer.objects.get(name="张三")
    assert zhang.emails.get().email == "zhang@example.com"
    written = _keys()
    assert match_index.key_hash("py:zhangsan") in {k for c, k in written if c == zhang.pk}
    assert written == _rebuilt_keys()


def test_a_key_held_by_too_many_stored_and_new_customers_together_finds_none(rep):
    """The limit on a key's holders counts those in the table and those an import holds."""
    from guanxi.imports.matching import features

    def record(name, phone):
        return features({"kind": "person", "name": name, "phones": [phone]})

    stored = [make_customer(rep, name="王伟", phones=[f"1390013{i:04d}"]) for i in range(5)]
    match_index.refresh()
    key = match_index.key_hash("py:wangwei")
    pending = match_index.PendingKeys()
    pending.add([(10_000 + i, record("王伟", f"1370013{i:04d}")) for i in range(3)])
    found = match_index.holders([key], pending=pending)
    assert sorted(found[key]) == sorted([c.pk for c in stored] + [10_000, 10_001, 10_002])
    pending.drop([10_002])  # written again elsewhere: no longer held here
    assert 10_002 not in match_index.holders([key], pending=pending)[key]
    pending.add([(20_000 + i, record("王伟", f"1360013{i:04d}")) for i in range(2)])
    assert len(pending.holders([key])[key]) == 4
    assert key not in match_index.holders([key], pending=pending)  # 5 + 4 > 8
