"""Every role × every API endpoint, against the rules of guanxi/accounts/access.py.

The world: a company customer owned by `rep` (team East, with `manager` and `rep2`), with a
contact, an interaction, a pending order and a task; an unowned customer; a custom field.
`far_rep` and `far_manager` are in team South. The rules being checked:

- admin, agent, marketer see every customer; a manager sees the team's and unowned ones; a
  rep sees only their own. Anything hanging off a customer is visible exactly when it is, and
  an invisible id is a 404 on every path (detail, timeline, ?customer= filters, search).
- edit (customer, contacts, stage): admin; manager and rep in scope; never agent or marketer.
- delete and assign owner: admin, manager in scope; not reps.
- tag: admin, marketer; manager and rep in scope.
- interactions: admin, agent; manager and rep in scope. Orders: admin; manager, rep in scope.
- tasks: everyone who sees the customer. Custom fields and users: admin only.
- export of personal data: everyone but marketers.
- loyalty: members, their ledgers, redemptions, referrals and tier moves are seen with their
  customer (and tiers count only the members seen); enrolling, redeeming and attributing a
  referral: admin, agent, marketer, manager and rep in scope; adjusting points: admin only;
  the program, rules versions, tiers, rewards and the backtest: admin and marketer.

The last test fails when an endpoint is added without a row here.
"""

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from guanxi.accounts.services import grant_create, token_create
from guanxi.customers.services import contact_create, custom_field_create
from guanxi.interactions.services import interaction_log, task_create
from tests.factories import make_customer, make_order, make_unowned_customer, make_user

ROLES = ["admin", "manager", "rep", "rep2", "far_rep", "far_manager", "agent", "marketer"]
SEES_TARGET = {"admin", "manager", "rep", "agent", "marketer"}
SEES_UNOWNED = {"admin", "manager", "far_manager", "agent", "marketer"}


@dataclass
class World:
    users: dict
    target: object  # rep's company customer
    disposable: object  # rep's customer without orders, for deletes
    unowned: object
    contact: object
    interaction: object
    order: object
    task: object


@pytest.fixture
def world(admin, manager, rep, rep2, far_rep, other_team, agent, marketer):
    far_manager = make_user("manager2", "manager", team=other_team)
    target = make_customer(
        rep, name="靶子科技", kind="company", phones=["13700137000"], tags=["VIP"]
    )
    contact = contact_create(actor=rep, customer=target, data={"name": "靶子经理"})
    interaction = interaction_log(
        actor=rep, customer=target, data={"kind": "call", "subject": "靶子电话"}
    )
    order = make_order(admin, target, number="M-1", status="pending")
    task = task_create(actor=rep, customer=target, data={"title": "靶子任务"})
    custom_field_create(
        actor=admin,
        data={"key": "level", "label_zh": "级别", "field_type": "choice", "choices": ["金"]},
    )
    users = {
        "admin": admin,
        "manager": manager,
        "rep": rep,
        "rep2": rep2,
        "far_rep": far_rep,
        "far_manager": far_manager,
        "agent": agent,
        "marketer": marketer,
    }
    return World(
        users=users,
        target=target,
        disposable=make_customer(rep, name="可删客户"),
        unowned=make_unowned_customer(name="无主客户"),
        contact=contact,
        interaction=interaction,
        order=order,
        task=task,
    )


def seen(ok: int) -> dict[str, int]:
    """`ok` for roles that see rep's customer, 404 for the others."""
    return {r: ok if r in SEES_TARGET else 404 for r in ROLES}


def rule(ok: int, allowed: set[str]) -> dict[str, int]:
    """`ok` where allowed; 403 where the role sees the record but may not; else 404."""
    return {r: (ok if r in allowed else 403) if r in SEES_TARGET else 404 for r in ROLES}


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def admin_only(ok: int) -> dict[str, int]:
    return {r: ok if r == "admin" else 403 for r in ROLES}


EDITORS = {"admin", "manager", "rep"}


def _ids(response) -> set[int]:
    return {item["id"] for item in response.json()["items"]}


def lists_target(pk_of: Callable[[World], int]):
    """Check: a list shows the record exactly to the roles that see rep's customer."""

    def check(world, role, response):
        assert (pk_of(world) in _ids(response)) == (role in SEES_TARGET)

    return check


def lists_customers(world, role, response):
    ids = _ids(response)
    assert (world.target.pk in ids) == (role in SEES_TARGET)
    assert (world.unowned.pk in ids) == (role in SEES_UNOWNED)


def changed(count_for: dict[str, int]):
    def check(world, role, response):
        if response.status_code == 200:
            assert response.json()["changed"] == count_for.get(role, 0)

    return check


def exported(world, role, response):
    if response.status_code == 200:
        text = b"".join(response.streaming_content).decode("utf-8-sig")
        names = {row[2] for row in csv.reader(io.StringIO(text))}
        assert ("靶子科技" in names) == (role in SEES_TARGET)


def export_holds(text: str):
    """Check: a CSV or .xlsx export holds `text` exactly for the roles that see rep's customer."""

    def check(world, role, response):
        if response.status_code != 200:
            return
        data = b"".join(response.streaming_content)
        if data[:2] == b"PK":
            from python_calamine import CalamineWorkbook

            sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
            cells = {str(v) for row in sheet.to_python() for v in row}
        else:
            cells = {v for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) for v in row}
        assert (text in cells) == (role in SEES_TARGET)

    return check


def exporters(ok: int = 200) -> dict[str, int]:
    """Everyone may export what they see, except marketers (403)."""
    return {**everyone(ok), "marketer": 403}


# Imports, duplicates, merges and events: their records are made on first use in a case.


def _job(w):
    """An import uploaded by `manager` (team East)."""
    if not hasattr(w, "job"):
        from guanxi.imports.services import import_job_create
        from guanxi.imports.tests.helpers import csv_bytes, upload

        data = csv_bytes([["姓名", "手机"], ["导入客户", "13600136000"]])
        w.job = import_job_create(
            actor=w.users["manager"], kind="customers", file=upload("a.csv", data),
            file_name="a.csv",
        )  # fmt: skip
    return w.job


def _review(w):
    """rep's target and rep's disposable customer, queued as possible duplicates."""
    if not hasattr(w, "review"):
        from guanxi.customers.models import DuplicateReview

        w.review = DuplicateReview.objects.create(
            customer=w.target, other=w.disposable, score=0.9, source="scan"
        )
    return w.review


def _merge(w):
    """The disposable customer merged into the target, by an admin."""
    if not hasattr(w, "merge"):
        from guanxi.customers.services.merge import customers_merge

        w.merge = customers_merge(actor=w.users["admin"], survivor=w.target, other=w.disposable)
    return w.merge


def _event(w):
    """A channel event of rep's target customer."""
    if not hasattr(w, "event"):
        from guanxi.events.services import events_ingest

        result = events_ingest(
            actor=w.users["admin"],
            events=[{"channel": "web_shop", "kind": "page_view",
                     "identifiers": {"phone": "13700137000"}}],
        )  # fmt: skip
        w.event = result.events[0]["id"]
    return w.event


def _termination(w):
    """rep's request to end the relationship with the target (which has an open order and
    task, so approving it is refused)."""
    if not hasattr(w, "termination"):
        from guanxi.customers.services import termination_request

        w.termination = termination_request(
            actor=w.users["rep"], customer=w.target, reason="客户要求终止合作"
        )
    return w.termination


def _settled_termination(w):
    """rep's request to end the relationship with the disposable customer (nothing open)."""
    if not hasattr(w, "settled_termination"):
        from guanxi.customers.services import termination_request

        w.settled_termination = termination_request(
            actor=w.users["rep"], customer=w.disposable, reason="不再合作"
        )
    return w.settled_termination


DECIDERS = {"admin", "manager"}


IMPORTERS = {"admin", "manager", "far_manager"}
MERGERS_OF_TARGET = {"admin", "manager"}


def importers(ok: int) -> dict[str, int]:
    return {r: ok if r in IMPORTERS else 403 for r in ROLES}


def own_job(ok: int) -> dict[str, int]:
    """The manager's import: the manager and admins; anyone else is told it does not exist."""
    return {r: ok if r in MERGERS_OF_TARGET else 404 for r in ROLES}


def lists_pk(pk_of: Callable, roles: set[str]):
    def check(world, role, response):
        assert (pk_of(world) in _ids(response)) == (role in roles)

    return check


def _upload(c):
    from guanxi.imports.tests.helpers import csv_bytes, post_import

    return post_import(c, csv_bytes([["姓名"], ["新客户"]]))


@dataclass
class Case:
    method: str
    path: str  # as the router declares it
    call: Callable
    expect: dict[str, int]
    check: Callable | None = None


def _order_body(w):
    return {
        "customer": w.target.pk,
        "number": "N-9",
        "lines": [{"product_name": "x", "unit_price": 1}],
    }


def _other_users_token(w):
    outsider = make_user("outsider", "rep")
    return token_create(actor=None, user=outsider)[0].pk


def _valued(w):
    """rep's customer with a paid order, and every customer's value computed."""
    from guanxi.analytics.services import value_refresh

    if not hasattr(w, "refresh"):
        make_order(w.users["admin"], w.target, number="V-1", status="paid")
        w.refresh = value_refresh(actor=w.users["admin"])
    return w.refresh


TARGET_RULE = {"field": "name", "op": "eq", "value": "靶子科技"}
SEGMENT_MANAGERS = {"admin", "manager", "far_manager", "marketer"}


def _segment_managers(ok: int) -> dict[str, int]:
    return {r: ok if r in SEGMENT_MANAGERS else 403 for r in ROLES}


def _segment(w):
    """A dynamic segment whose only member is rep's target customer."""
    if not hasattr(w, "segment"):
        from guanxi.segments.services import segment_create

        w.segment = segment_create(
            actor=w.users["admin"], data={"name": "靶子细分", "definition": TARGET_RULE}
        )
    return w.segment


def _static(w):
    """A static segment holding rep's target customer."""
    if not hasattr(w, "static"):
        from guanxi.segments.services import segment_create, segment_members_add

        w.static = segment_create(actor=w.users["admin"], data={"name": "名单", "kind": "static"})
        segment_members_add(actor=w.users["admin"], segment=w.static, customer_ids=[w.target.pk])
    return w.static


def _counts_in_list(w, role, response):
    [item] = [s for s in response.json()["items"] if s["id"] == w.segment.pk]
    _check_count(role, item["members"])


def _churn(w):
    """A churn warning on rep's target customer."""
    if not hasattr(w, "churn"):
        from django.utils import timezone

        from guanxi.segments.models import ChurnCase

        w.churn = ChurnCase.objects.create(
            customer=w.target, opened_at=timezone.now(), reasons=[{"rule": "no_order"}]
        )
    return w.churn


def _evaluation(w):
    """A tier evaluation (thresholds) that moved rep's target customer, the only buyer, up."""
    if not hasattr(w, "evaluation"):
        from guanxi.segments.models import Tier
        from guanxi.segments.services.tiers import tier_settings_update, tiers_evaluate

        make_order(w.users["admin"], w.target, number="T-1", status="paid", total="50000")
        tier_settings_update(actor=w.users["admin"], data={"method": "threshold"})
        w.evaluation = tiers_evaluate(actor=w.users["admin"])
        assert Tier.objects.order_by("rank").first().members.get().customer == w.target
    return w.evaluation


def _cluster_run(w):
    if not hasattr(w, "cluster_run"):
        from guanxi.segments.services.clusters import clustering_request

        w.cluster_run = clustering_request(actor=w.users["admin"], enqueue=False)
    return w.cluster_run


def _notification(w):
    """A notification for rep."""
    if not hasattr(w, "notification"):
        from django.utils.translation import gettext_noop

        from guanxi.notifications.services import notify

        [w.notification] = notify(
            recipients=[w.users["rep"]], kind="test", title=gettext_noop("Hello"), email=False
        )
    return w.notification


def _check_own(role, n):
    assert n == (1 if role == "rep" else 0), (role, n)


def _check_count(role, n):
    assert n == (1 if role in SEES_TARGET else 0), (role, n)


def counts_target(key):
    """Check: the figure counts rep's customer (the only buyer) exactly for those who see it."""
    return lambda w, role, response: _check_count(role, response.json()[key])


# Loyalty: the target as a member, a reward, a coupon, referrals and a draft of the rules,
# made on first use in a case.

LOYALTY_MANAGERS = {"admin", "marketer"}


def loyalty_managers(ok: int) -> dict[str, int]:
    return {r: ok if r in LOYALTY_MANAGERS else 403 for r in ROLES}


def _member(w):
    """rep's target customer as a member: a paid order of 6,000 yuan earned 6,100 points (the
    first-order bonus with it) and moved them up from Silver to Gold."""
    if not hasattr(w, "member"):
        from guanxi.loyalty.models import Member

        make_order(w.users["admin"], w.target, number="L-1", status="paid", total="6000")
        w.member = Member.objects.select_related("tier").get(customer=w.target)
        assert (w.member.balance, w.member.tier.key) == (6100, "gold")
    return w.member


def _reward(w):
    """A coupon in the catalogue, for 10 points."""
    if not hasattr(w, "reward"):
        from guanxi.loyalty.services import reward_create

        w.reward = reward_create(
            actor=w.users["admin"], data={"name": "券", "kind": "coupon", "points": 10}
        )
    return w.reward


def _coupon(w):
    """The reward redeemed for rep's target by an admin: an unused coupon of theirs."""
    if not hasattr(w, "coupon"):
        from guanxi.loyalty.services import reward_redeem

        _member(w)
        w.coupon = reward_redeem(actor=w.users["admin"], customer=w.target, reward_id=_reward(w).pk)
    return w.coupon


def _referral(w):
    """rep's disposable customer, referred by the target's code."""
    if not hasattr(w, "referral"):
        from guanxi.loyalty.services import referral_attribute

        w.referral = referral_attribute(
            actor=w.users["admin"], customer=w.disposable, code=_member(w).referral_code
        )
    return w.referral


def _unowned_referral(w):
    """The unowned customer, referred by the target's code (a referral is listed only to
    those who see both customers)."""
    if not hasattr(w, "unowned_referral"):
        from guanxi.loyalty.services import referral_attribute

        w.unowned_referral = referral_attribute(
            actor=w.users["admin"], customer=w.unowned, code=_member(w).referral_code
        )
    return w.unowned_referral


def _draft(w):
    """A draft of the earning rules (version 2; version 1 is the published default)."""
    if not hasattr(w, "draft"):
        from guanxi.loyalty.services import version_draft

        w.draft = version_draft(actor=w.users["admin"], data={"note": "草案"})
    return w.draft


def _published(w):
    from guanxi.loyalty.models import RuleVersion

    return RuleVersion.objects.get(number=1, status="published")


def _gold(w):
    from guanxi.loyalty.models import LoyaltyTier

    return LoyaltyTier.objects.get(key="gold")


def lists_member(w, role, response):
    customers = {item["customer"] for item in response.json()["items"]}
    assert (w.target.pk in customers) == (role in SEES_TARGET), (role, customers)


def _if_ok(check):
    """Check: the answer holds `check` whenever the role got one."""

    def run(w, role, response):
        if response.status_code < 400:
            assert check(w, role, response.json()), (role, response.json())

    return run


def _short_of(balance: int):
    """Check: a 409 for falling short tells the member's balance."""

    def run(w, role, response):
        if response.status_code == 409:
            assert response.json()["balance"] == balance, (role, response.json())

    return run


def _gold_counts_target(w, role, response):
    [gold] = [t for t in response.json() if t["key"] == "gold"]
    _check_count(role, gold["members"])


CASES: dict[str, Case] = {
    # Customers
    "customers.list": Case(
        "GET", "/customers", lambda w, c: c.get("customers"), everyone(200), lists_customers
    ),
    "customers.search": Case(
        "GET",
        "/customers",
        lambda w, c: c.get("customers", {"q": "bazikeji"}),
        everyone(200),
        lists_target(lambda w: w.target.pk),
    ),
    "customers.search_phone": Case(
        "GET",
        "/customers",
        lambda w, c: c.get("customers", {"q": "0137000"}),
        everyone(200),
        lists_target(lambda w: w.target.pk),
    ),
    "customers.search_short": Case(
        "GET",
        "/customers",
        lambda w, c: c.get("customers", {"q": "bz"}),
        everyone(200),
        lists_target(lambda w: w.target.pk),
    ),
    "customers.filters": Case(
        "GET",
        "/customers",
        lambda w, c: c.get(
            "customers",
            {"owner": w.users["rep"].pk, "tag": "VIP", "kind": "company", "stage": "new"},
        ),
        everyone(200),
        lists_target(lambda w: w.target.pk),
    ),
    "customers.create": Case(
        "POST",
        "/customers",
        lambda w, c: c.post("customers", {"name": "新客户"}),
        {**everyone(201), "agent": 403, "marketer": 403},
    ),
    "customers.get": Case(
        "GET",
        "/customers/{int:customer_id}",
        lambda w, c: c.get(f"customers/{w.target.pk}"),
        seen(200),
    ),
    "customers.patch": Case(
        "PATCH",
        "/customers/{int:customer_id}",
        lambda w, c: c.patch(f"customers/{w.target.pk}", {"industry": "制造业"}),
        rule(200, EDITORS),
    ),
    "customers.patch_tags": Case(
        "PATCH",
        "/customers/{int:customer_id}",
        lambda w, c: c.patch(f"customers/{w.target.pk}", {"tags": ["VIP", "活动"]}),
        rule(200, {"admin", "manager", "rep", "marketer"}),
    ),
    "customers.delete": Case(
        "DELETE",
        "/customers/{int:customer_id}",
        lambda w, c: c.delete(f"customers/{w.disposable.pk}"),
        rule(204, {"admin", "manager"}),
    ),
    "customers.stage": Case(
        "POST",
        "/customers/{int:customer_id}/stage",
        lambda w, c: c.post(f"customers/{w.target.pk}/stage", {"stage": "active", "cause": "签约"}),
        rule(200, EDITORS),
    ),
    "customers.stage_history": Case(
        "GET",
        "/customers/{int:customer_id}/stage-history",
        lambda w, c: c.get(f"customers/{w.target.pk}/stage-history"),
        seen(200),
    ),
    "customers.timeline": Case(
        "GET",
        "/customers/{int:customer_id}/timeline",
        lambda w, c: c.get(f"customers/{w.target.pk}/timeline"),
        seen(200),
    ),
    "customers.bulk_assign": Case(
        "POST",
        "/customers/bulk/assign-owner",
        lambda w, c: c.post(
            "customers/bulk/assign-owner",
            {"ids": [w.target.pk, w.unowned.pk], "owner": w.users["rep2"].pk},
        ),
        {**everyone(403), "admin": 200, "manager": 200},
        changed({"admin": 2, "manager": 2}),
    ),
    "customers.bulk_tag": Case(
        "POST",
        "/customers/bulk/tag",
        lambda w, c: c.post("customers/bulk/tag", {"ids": [w.target.pk], "add": ["活动"]}),
        {**everyone(200), "agent": 403},
        changed({"admin": 1, "manager": 1, "rep": 1, "marketer": 1}),
    ),
    "customers.export": Case(
        "GET",
        "/customers/export.csv",
        lambda w, c: c.get("customers/export.csv"),
        {**everyone(200), "marketer": 403},
        exported,
    ),
    # Ending relationships: asked by editors, decided by the team's manager or an admin
    "terminations.create": Case(
        "POST", "/customers/{int:customer_id}/termination",
        lambda w, c: c.post(f"customers/{w.target.pk}/termination", {"reason": "不合作"}),
        rule(201, EDITORS),
    ),
    "terminations.of_customer": Case(
        "GET", "/customers/{int:customer_id}/termination",
        lambda w, c: (_termination(w), c.get(f"customers/{w.target.pk}/termination"))[1],
        seen(200),
    ),
    "terminations.list": Case(
        "GET", "/terminations", lambda w, c: (_termination(w), c.get("terminations"))[1],
        everyone(200), lists_pk(lambda w: w.termination.pk, SEES_TARGET),
    ),
    "terminations.list_pending": Case(
        "GET", "/terminations",
        lambda w, c: (_termination(w), c.get("terminations", {"status": "pending"}))[1],
        everyone(200), lists_pk(lambda w: w.termination.pk, SEES_TARGET),
    ),
    "terminations.get": Case(
        "GET", "/terminations/{int:termination_id}",
        lambda w, c: c.get(f"terminations/{_termination(w).pk}"), seen(200),
    ),
    "terminations.approve_open": Case(
        "POST", "/terminations/{int:termination_id}/approve",
        lambda w, c: c.post(f"terminations/{_termination(w).pk}/approve", {}),
        rule(409, DECIDERS),
    ),
    "terminations.approve": Case(
        "POST", "/terminations/{int:termination_id}/approve",
        lambda w, c: c.post(f"terminations/{_settled_termination(w).pk}/approve", {"note": "同意"}),
        rule(200, DECIDERS),
    ),
    "terminations.reject": Case(
        "POST", "/terminations/{int:termination_id}/reject",
        lambda w, c: c.post(f"terminations/{_termination(w).pk}/reject", {"note": "再跟进"}),
        rule(200, DECIDERS),
    ),
    "terminations.withdraw": Case(
        "POST", "/terminations/{int:termination_id}/withdraw",
        lambda w, c: c.post(f"terminations/{_termination(w).pk}/withdraw"),
        rule(200, DECIDERS | {"rep"}),
    ),
    # Contacts
    "contacts.list": Case(
        "GET",
        "/contacts",
        lambda w, c: c.get("contacts"),
        everyone(200),
        lists_target(lambda w: w.contact.pk),
    ),
    "contacts.list_of_customer": Case(
        "GET", "/contacts", lambda w, c: c.get("contacts", {"customer": w.target.pk}), seen(200)
    ),
    "contacts.create": Case(
        "POST",
        "/contacts",
        lambda w, c: c.post("contacts", {"customer": w.target.pk, "name": "新联系人"}),
        rule(201, EDITORS),
    ),
    "contacts.get": Case(
        "GET",
        "/contacts/{int:contact_id}",
        lambda w, c: c.get(f"contacts/{w.contact.pk}"),
        seen(200),
    ),
    "contacts.patch": Case(
        "PATCH",
        "/contacts/{int:contact_id}",
        lambda w, c: c.patch(f"contacts/{w.contact.pk}", {"title": "总监"}),
        rule(200, EDITORS),
    ),
    "contacts.delete": Case(
        "DELETE",
        "/contacts/{int:contact_id}",
        lambda w, c: c.delete(f"contacts/{w.contact.pk}"),
        rule(204, EDITORS),
    ),
    # Interactions
    "interactions.list": Case(
        "GET",
        "/interactions",
        lambda w, c: c.get("interactions"),
        everyone(200),
        lists_target(lambda w: w.interaction.pk),
    ),
    "interactions.list_of_customer": Case(
        "GET",
        "/interactions",
        lambda w, c: c.get("interactions", {"customer": w.target.pk}),
        seen(200),
    ),
    "interactions.create": Case(
        "POST",
        "/interactions",
        lambda w, c: c.post(
            "interactions", {"customer": w.target.pk, "kind": "note", "subject": "备注"}
        ),
        rule(201, {"admin", "manager", "rep", "agent"}),
    ),
    "interactions.get": Case(
        "GET",
        "/interactions/{int:interaction_id}",
        lambda w, c: c.get(f"interactions/{w.interaction.pk}"),
        seen(200),
    ),
    "interactions.patch": Case(
        "PATCH",
        "/interactions/{int:interaction_id}",
        lambda w, c: c.patch(f"interactions/{w.interaction.pk}", {"outcome": "成交"}),
        rule(200, {"admin", "manager", "rep", "agent"}),
    ),
    "interactions.delete": Case(
        "DELETE",
        "/interactions/{int:interaction_id}",
        lambda w, c: c.delete(f"interactions/{w.interaction.pk}"),
        rule(204, {"admin", "manager", "rep", "agent"}),
    ),
    # Orders
    "orders.list": Case(
        "GET",
        "/orders",
        lambda w, c: c.get("orders"),
        everyone(200),
        lists_target(lambda w: w.order.pk),
    ),
    "orders.list_of_customer": Case(
        "GET", "/orders", lambda w, c: c.get("orders", {"customer": w.target.pk}), seen(200)
    ),
    "orders.create": Case(
        "POST", "/orders", lambda w, c: c.post("orders", _order_body(w)), rule(201, EDITORS)
    ),
    "orders.get": Case(
        "GET", "/orders/{int:order_id}", lambda w, c: c.get(f"orders/{w.order.pk}"), seen(200)
    ),
    "orders.patch": Case(
        "PATCH",
        "/orders/{int:order_id}",
        lambda w, c: c.patch(f"orders/{w.order.pk}", {"status": "paid"}),
        rule(200, EDITORS),
    ),
    "orders.delete": Case(
        "DELETE",
        "/orders/{int:order_id}",
        lambda w, c: c.delete(f"orders/{w.order.pk}"),
        rule(204, EDITORS),
    ),
    # Tasks
    "tasks.list": Case(
        "GET",
        "/tasks",
        lambda w, c: c.get("tasks"),
        everyone(200),
        lists_target(lambda w: w.task.pk),
    ),
    "tasks.list_of_customer": Case(
        "GET", "/tasks", lambda w, c: c.get("tasks", {"customer": w.target.pk}), seen(200)
    ),
    "tasks.create": Case(
        "POST",
        "/tasks",
        lambda w, c: c.post("tasks", {"customer": w.target.pk, "title": "回访"}),
        seen(201),
    ),
    "tasks.get": Case(
        "GET", "/tasks/{int:task_id}", lambda w, c: c.get(f"tasks/{w.task.pk}"), seen(200)
    ),
    "tasks.patch": Case(
        "PATCH",
        "/tasks/{int:task_id}",
        lambda w, c: c.patch(f"tasks/{w.task.pk}", {"status": "done"}),
        seen(200),
    ),
    "tasks.delete": Case(
        "DELETE", "/tasks/{int:task_id}", lambda w, c: c.delete(f"tasks/{w.task.pk}"), seen(204)
    ),
    # Custom fields
    "custom_fields.list": Case(
        "GET", "/custom-fields", lambda w, c: c.get("custom-fields"), everyone(200)
    ),
    "custom_fields.create": Case(
        "POST",
        "/custom-fields",
        lambda w, c: c.post(
            "custom-fields", {"key": "budget", "label_zh": "预算", "field_type": "number"}
        ),
        admin_only(201),
    ),
    "custom_fields.patch": Case(
        "PATCH",
        "/custom-fields/{key}",
        lambda w, c: c.patch("custom-fields/level", {"label_en": "Level"}),
        admin_only(200),
    ),
    "custom_fields.delete": Case(
        "DELETE",
        "/custom-fields/{key}",
        lambda w, c: c.delete("custom-fields/level"),
        admin_only(204),
    ),
    # Users and tokens
    "me": Case("GET", "/me", lambda w, c: c.get("me"), everyone(200)),
    "users.list": Case("GET", "/users", lambda w, c: c.get("users"), everyone(200)),
    "users.create": Case(
        "POST",
        "/users",
        lambda w, c: c.post("users", {"username": "newbie", "role": "rep"}),
        admin_only(201),
    ),
    "users.patch": Case(
        "PATCH",
        "/users/{int:user_id}",
        lambda w, c: c.patch(f"users/{w.users['rep2'].pk}", {"display_name": "小王"}),
        admin_only(200),
    ),
    "tokens.list": Case("GET", "/tokens", lambda w, c: c.get("tokens"), everyone(200)),
    "tokens.create": Case(
        "POST", "/tokens", lambda w, c: c.post("tokens", {"name": "脚本"}), everyone(201)
    ),
    "tokens.revoke_own": Case(
        "DELETE",
        "/tokens/{int:token_id}",
        lambda w, c: c.delete(f"tokens/{c.post('tokens', {'name': 'x'}).json()['id']}"),
        everyone(204),
    ),
    "tokens.revoke_others": Case(
        "DELETE",
        "/tokens/{int:token_id}",
        lambda w, c: c.delete(f"tokens/{_other_users_token(w)}"),
        everyone(404),
    ),
    # Exports
    "exports.customers": Case(
        "GET",
        "/customers/export",
        lambda w, c: c.get("customers/export"),
        exporters(),
        export_holds("靶子科技"),
    ),
    "exports.customers_xlsx": Case(
        "GET",
        "/customers/export",
        lambda w, c: c.get("customers/export", {"format": "xlsx", "tag": "VIP"}),
        exporters(),
        export_holds("靶子科技"),
    ),
    "exports.contacts": Case(
        "GET",
        "/contacts/export",
        lambda w, c: c.get("contacts/export", {"format": "xlsx"}),
        exporters(),
        export_holds("靶子经理"),
    ),
    "exports.contacts_of_customer": Case(
        "GET",
        "/contacts/export",
        lambda w, c: c.get("contacts/export", {"customer": w.target.pk}),
        {**seen(200), "marketer": 403},
    ),
    "exports.orders": Case(
        "GET",
        "/orders/export",
        lambda w, c: c.get("orders/export"),
        exporters(),
        export_holds("M-1"),
    ),
    "exports.orders_of_customer": Case(
        "GET",
        "/orders/export",
        lambda w, c: c.get("orders/export", {"customer": w.target.pk, "format": "xlsx"}),
        {**seen(200), "marketer": 403},
    ),
    "exports.interactions": Case(
        "GET",
        "/interactions/export",
        lambda w, c: c.get("interactions/export", {"format": "xlsx"}),
        exporters(),
        export_holds("靶子电话"),
    ),
    "exports.interactions_of_customer": Case(
        "GET",
        "/interactions/export",
        lambda w, c: c.get("interactions/export", {"customer": w.target.pk}),
        {**seen(200), "marketer": 403},
    ),
    "exports.tasks": Case(
        "GET",
        "/tasks/export",
        lambda w, c: c.get("tasks/export"),
        exporters(),
        export_holds("靶子任务"),
    ),
    "exports.tasks_of_customer": Case(
        "GET",
        "/tasks/export",
        lambda w, c: c.get("tasks/export", {"customer": w.target.pk, "format": "xlsx"}),
        {**seen(200), "marketer": 403},
    ),
    # Imports
    "imports.fields": Case(
        "GET", "/imports/fields", lambda w, c: c.get("imports/fields"), importers(200)
    ),
    "imports.upload": Case("POST", "/imports", lambda w, c: _upload(c), importers(201)),
    "imports.list": Case(
        "GET", "/imports", lambda w, c: (_job(w), c.get("imports"))[1], everyone(200),
        lists_pk(lambda w: w.job.pk, MERGERS_OF_TARGET),
    ),
    "imports.get": Case(
        "GET", "/imports/{int:job_id}", lambda w, c: c.get(f"imports/{_job(w).pk}"), own_job(200)
    ),
    "imports.update": Case(
        "PATCH", "/imports/{int:job_id}",
        lambda w, c: c.patch(f"imports/{_job(w).pk}", {"on_duplicate": "skip"}), own_job(200),
    ),
    "imports.preview": Case(
        "GET", "/imports/{int:job_id}/preview",
        lambda w, c: c.get(f"imports/{_job(w).pk}/preview"), own_job(200),
    ),
    "imports.start": Case(
        "POST", "/imports/{int:job_id}/start",
        lambda w, c: c.post(f"imports/{_job(w).pk}/start"), own_job(202),
    ),
    "imports.check": Case(
        "POST", "/imports/{int:job_id}/check",
        lambda w, c: c.post(f"imports/{_job(w).pk}/check"), own_job(202),
    ),
    "imports.undo": Case(
        "POST", "/imports/{int:job_id}/undo",
        lambda w, c: c.post(f"imports/{_job(w).pk}/undo"), own_job(409),
    ),
    "imports.issues": Case(
        "GET", "/imports/{int:job_id}/issues",
        lambda w, c: c.get(f"imports/{_job(w).pk}/issues"), own_job(200),
    ),
    "imports.failed_rows": Case(
        "GET", "/imports/{int:job_id}/failed-rows",
        lambda w, c: c.get(f"imports/{_job(w).pk}/failed-rows"), own_job(200),
    ),
    "imports.mappings": Case(
        "GET", "/import-mappings", lambda w, c: c.get("import-mappings"), everyone(200)
    ),
    # Duplicates and merges
    "duplicates.list": Case(
        "GET", "/duplicates", lambda w, c: (_review(w), c.get("duplicates"))[1], everyone(200),
        lists_pk(lambda w: w.review.pk, MERGERS_OF_TARGET),
    ),
    "duplicates.merge": Case(
        "POST", "/duplicates/{int:review_id}/merge",
        lambda w, c: c.post(f"duplicates/{_review(w).pk}/merge", {}), own_job(200),
    ),
    "duplicates.dismiss": Case(
        "POST", "/duplicates/{int:review_id}/dismiss",
        lambda w, c: c.post(f"duplicates/{_review(w).pk}/dismiss"), own_job(200),
    ),
    "customers.merge": Case(
        "POST", "/customers/{int:customer_id}/merge",
        lambda w, c: c.post(f"customers/{w.target.pk}/merge", {"other": w.disposable.pk}),
        rule(200, MERGERS_OF_TARGET),
    ),
    "merges.list": Case(
        "GET", "/merges", lambda w, c: (_merge(w), c.get("merges"))[1], everyone(200),
        lists_pk(lambda w: w.merge.pk, MERGERS_OF_TARGET),
    ),
    "merges.undo": Case(
        "POST", "/merges/{int:merge_id}/undo",
        lambda w, c: c.post(f"merges/{_merge(w).pk}/undo"), own_job(200),
    ),
    # Channel events
    "events.ingest": Case(
        "POST", "/events",
        lambda w, c: c.post("events", {"channel": "store", "kind": "store_visit",
                                       "identifiers": {"phone": "13700137000"}}),
        admin_only(200),
    ),
    "events.list": Case(
        "GET", "/events", lambda w, c: (_event(w), c.get("events"))[1], everyone(200),
        lists_pk(lambda w: w.event, SEES_TARGET),
    ),
    # Customer value: figures scoped like the customers they come from
    "customers.value": Case(
        "GET", "/customers/{int:customer_id}/value",
        lambda w, c: (_valued(w), c.get(f"customers/{w.target.pk}/value"))[1], seen(200),
    ),
    "analytics.rfm": Case(
        "GET", "/analytics/rfm", lambda w, c: (_valued(w), c.get("analytics/rfm"))[1],
        everyone(200), counts_target("buyers"),
    ),
    "analytics.clv": Case(
        "GET", "/analytics/clv", lambda w, c: (_valued(w), c.get("analytics/clv"))[1],
        everyone(200),  # one buyer fits no model; its figures are scoped as rfm's are
    ),
    "analytics.cohorts": Case(
        "GET", "/analytics/cohorts", lambda w, c: (_valued(w), c.get("analytics/cohorts"))[1],
        everyone(200),
        lambda w, role, r: _check_count(role, sum(x["customers"] for x in r.json()["cohorts"])),
    ),
    "analytics.months": Case(
        "GET", "/analytics/months", lambda w, c: (_valued(w), c.get("analytics/months"))[1],
        everyone(200),
        lambda w, role, r: _check_count(role, sum(m["new_buyers"] for m in r.json())),
    ),
    "analytics.pareto": Case(
        "GET", "/analytics/pareto", lambda w, c: (_valued(w), c.get("analytics/pareto"))[1],
        everyone(200), counts_target("buyers"),
    ),
    "analytics.refresh": Case(
        "POST", "/analytics/refresh", lambda w, c: c.post("analytics/refresh", {}),
        {r: 202 if r in ("admin", "manager", "far_manager") else 403 for r in ROLES},
    ),
    "analytics.refresh_get": Case(
        "GET", "/analytics/refreshes/{int:refresh_id}",
        lambda w, c: c.get(f"analytics/refreshes/{_valued(w).pk}"),
        {r: 200 if r in ("admin", "manager", "far_manager") else 404 for r in ROLES},
    ),
    "analytics.settings": Case(
        "GET", "/analytics/settings", lambda w, c: c.get("analytics/settings"), everyone(200),
    ),
    "analytics.settings_patch": Case(
        "PATCH", "/analytics/settings",
        lambda w, c: c.patch("analytics/settings", {"churn_days": 90}), admin_only(200),
    ),
    # Segments: rules are seen by all; members and counts only where the customer is seen;
    # admins, managers and marketers manage them.
    "segments.list": Case(
        "GET", "/segments", lambda w, c: (_segment(w), c.get("segments"))[1], everyone(200),
        _counts_in_list,
    ),
    "segments.create": Case(
        "POST", "/segments",
        lambda w, c: c.post("segments", {"name": "新细分", "definition": TARGET_RULE}),
        _segment_managers(201),
    ),
    "segments.fields": Case(
        "GET", "/segments/fields", lambda w, c: c.get("segments/fields"), everyone(200),
    ),
    "segments.preview": Case(
        "POST", "/segments/preview",
        lambda w, c: c.post("segments/preview", {"definition": TARGET_RULE}), everyone(200),
        lambda w, role, r: _check_count(role, r.json()["count"]),
    ),
    "segments.get": Case(
        "GET", "/segments/{int:segment_id}", lambda w, c: c.get(f"segments/{_segment(w).pk}"),
        everyone(200), lambda w, role, r: _check_count(role, r.json()["members"]),
    ),
    "segments.update": Case(
        "PATCH", "/segments/{int:segment_id}",
        lambda w, c: c.patch(f"segments/{_segment(w).pk}", {"description": "x"}),
        _segment_managers(200),
    ),
    "segments.delete": Case(
        "DELETE", "/segments/{int:segment_id}",
        lambda w, c: c.delete(f"segments/{_segment(w).pk}"), _segment_managers(204),
    ),
    "segments.refresh": Case(
        "POST", "/segments/{int:segment_id}/refresh",
        lambda w, c: c.post(f"segments/{_segment(w).pk}/refresh", {}), _segment_managers(200),
    ),
    "segments.members": Case(
        "GET", "/segments/{int:segment_id}/members",
        lambda w, c: c.get(f"segments/{_segment(w).pk}/members"), everyone(200),
        lists_target(lambda w: w.target.pk),
    ),
    "segments.add_members": Case(
        "POST", "/segments/{int:segment_id}/members",
        lambda w, c: c.post(f"segments/{_static(w).pk}/members",
                            {"customer_ids": [w.disposable.pk]}),
        _segment_managers(200),
        lambda w, role, r: r.status_code != 200 or _check_count(role, r.json()["count"]),
    ),
    "segments.remove_members": Case(
        "POST", "/segments/{int:segment_id}/members/remove",
        lambda w, c: c.post(f"segments/{_static(w).pk}/members/remove",
                            {"customer_ids": [w.target.pk]}),
        _segment_managers(200),
    ),
    "segments.history": Case(
        "GET", "/segments/{int:segment_id}/history",
        lambda w, c: c.get(f"segments/{_segment(w).pk}/history"), everyone(200),
        lambda w, role, r: _check_count(role, len(r.json()["items"])),
    ),
    "segments.freeze": Case(
        "POST", "/segments/{int:segment_id}/freeze",
        lambda w, c: c.post(f"segments/{_segment(w).pk}/freeze", {"name": "快照"}),
        _segment_managers(201),
    ),
    "segments.of_customer": Case(
        "GET", "/customers/{int:customer_id}/segments",
        lambda w, c: (_segment(w), c.get(f"customers/{w.target.pk}/segments"))[1],
        {r: 200 if r in SEES_TARGET else 404 for r in ROLES},
    ),
    "churn.list": Case(
        "GET", "/churn-warnings", lambda w, c: (_churn(w), c.get("churn-warnings"))[1],
        everyone(200), lambda w, role, r: _check_count(role, len(r.json()["items"])),
    ),
    "churn.winback": Case(
        "GET", "/churn-warnings/win-back",
        lambda w, c: (_churn(w), c.get("churn-warnings/win-back"))[1], everyone(200),
        lambda w, role, r: _check_count(role, r.json()[-1]["at_risk"]),
    ),
    "lifecycle.settings": Case(
        "GET", "/lifecycle/settings", lambda w, c: c.get("lifecycle/settings"), everyone(200),
    ),
    "lifecycle.settings_patch": Case(
        "PATCH", "/lifecycle/settings",
        lambda w, c: c.patch("lifecycle/settings", {"at_risk_days": 60}), admin_only(200),
    ),
    "tiers.list": Case(
        "GET", "/tiers", lambda w, c: (_evaluation(w), c.get("tiers"))[1], everyone(200),
        lambda w, role, r: _check_count(role, r.json()[0]["members"]),
    ),
    "tiers.evaluate": Case(
        "POST", "/tiers/evaluate", lambda w, c: c.post("tiers/evaluate", {}),
        _segment_managers(200),
    ),
    "tiers.evaluations": Case(
        "GET", "/tiers/evaluations", lambda w, c: (_evaluation(w), c.get("tiers/evaluations"))[1],
        everyone(200),
    ),
    "tiers.moves": Case(
        "GET", "/tiers/evaluations/{int:evaluation_id}/moves",
        lambda w, c: c.get(f"tiers/evaluations/{_evaluation(w).pk}/moves"), everyone(200),
        lambda w, role, r: _check_count(role, len(r.json()["items"])),
    ),
    "segments.cluster": Case(
        "POST", "/segments/clusters", lambda w, c: c.post("segments/clusters", {}),
        {r: 202 if r in SEGMENT_MANAGERS else 403 for r in ROLES},
    ),
    "segments.cluster_get": Case(
        "GET", "/segments/clusters/{int:run_id}",
        lambda w, c: c.get(f"segments/clusters/{_cluster_run(w).pk}"), everyone(200),
    ),
    # Notifications: each user reads and marks only their own.
    "notifications.list": Case(
        "GET", "/notifications", lambda w, c: (_notification(w), c.get("notifications"))[1],
        everyone(200),
        lambda w, role, r: _check_own(role, len(r.json()["items"])),
    ),
    "notifications.unread_count": Case(
        "GET", "/notifications/unread-count",
        lambda w, c: (_notification(w), c.get("notifications/unread-count"))[1], everyone(200),
    ),
    "notifications.read_all": Case(
        "POST", "/notifications/read-all", lambda w, c: c.post("notifications/read-all", {}),
        everyone(200),
    ),
    "notifications.read": Case(
        "POST", "/notifications/{int:notification_id}/read",
        lambda w, c: c.post(f"notifications/{_notification(w).pk}/read", {}),
        {r: 200 if r == "rep" else 404 for r in ROLES},
    ),
    # Loyalty: the program's settings are read by all and changed by admins and marketers.
    "loyalty.program": Case(
        "GET", "/loyalty/program", lambda w, c: c.get("loyalty/program"), everyone(200),
    ),
    "loyalty.program_patch": Case(
        "PATCH", "/loyalty/program", lambda w, c: c.patch("loyalty/program", {"warn_days": 14}),
        loyalty_managers(200),
    ),
    # Members: seen with their customer; an invisible one is a 404 on every path.
    "loyalty.members": Case(
        "GET", "/loyalty/members", lambda w, c: (_member(w), c.get("loyalty/members"))[1],
        everyone(200), lists_member,
    ),
    "loyalty.members_by_code": Case(
        "GET", "/loyalty/members",
        lambda w, c: c.get("loyalty/members", {"q": _member(w).referral_code, "tier": "gold"}),
        everyone(200), lists_member,
    ),
    "loyalty.enrol": Case(
        "POST", "/loyalty/members",
        lambda w, c: c.post("loyalty/members", {"customer": w.target.pk}), seen(201),
        _if_ok(lambda w, role, body: body["customer"] == w.target.pk),
    ),
    "loyalty.enrol_again": Case(
        "POST", "/loyalty/members",
        lambda w, c: c.post("loyalty/members", {"customer": _member(w).customer_id}), seen(200),
        _if_ok(lambda w, role, body: body["balance"] == 6100),
    ),
    "loyalty.enrol_unowned": Case(
        "POST", "/loyalty/members",
        lambda w, c: c.post("loyalty/members", {"customer": w.unowned.pk}),
        {r: 201 if r in SEES_UNOWNED else 404 for r in ROLES},
    ),
    "loyalty.member": Case(
        "GET", "/loyalty/members/{int:customer_id}",
        lambda w, c: c.get(f"loyalty/members/{_member(w).customer_id}"), seen(200),
        _if_ok(lambda w, role, body: (body["balance"], body["tier"]["key"]) == (6100, "gold")),
    ),
    "loyalty.member_not_enrolled": Case(
        "GET", "/loyalty/members/{int:customer_id}",
        lambda w, c: c.get(f"loyalty/members/{w.target.pk}"), everyone(404),
    ),
    "loyalty.ledger": Case(
        "GET", "/loyalty/members/{int:customer_id}/ledger",
        lambda w, c: c.get(f"loyalty/members/{_member(w).customer_id}/ledger", {"kind": "earn"}),
        seen(200), _if_ok(lambda w, role, body: [e["points"] for e in body["items"]] == [6100]),
    ),
    "loyalty.adjust": Case(
        "POST", "/loyalty/members/{int:customer_id}/adjust",
        lambda w, c: c.post(f"loyalty/members/{_member(w).customer_id}/adjust",
                            {"points": 50, "reason": "补偿"}),
        rule(201, {"admin"}), _if_ok(lambda w, role, body: body["balance"] == 6150),
    ),
    "loyalty.adjust_overdraw": Case(
        "POST", "/loyalty/members/{int:customer_id}/adjust",
        lambda w, c: c.post(f"loyalty/members/{_member(w).customer_id}/adjust",
                            {"points": -7000, "reason": "纠错"}),
        rule(409, {"admin"}),  # the balance in a 409 is told only to an admin
        _short_of(6100),
    ),
    "loyalty.redeem_points": Case(
        "POST", "/loyalty/members/{int:customer_id}/redeem",
        lambda w, c: c.post(f"loyalty/members/{_member(w).customer_id}/redeem", {"points": 100}),
        seen(201), _if_ok(lambda w, role, body: body["balance"] == 6000),
    ),
    "loyalty.redeem_overdraw": Case(
        "POST", "/loyalty/members/{int:customer_id}/redeem",
        lambda w, c: c.post(f"loyalty/members/{_member(w).customer_id}/redeem",
                            {"points": 7000}),
        seen(409), _short_of(6100),
    ),
    "loyalty.redeem_reward": Case(
        "POST", "/loyalty/members/{int:customer_id}/redeem",
        lambda w, c: c.post(f"loyalty/members/{_member(w).customer_id}/redeem",
                            {"reward": _reward(w).pk}),
        seen(201),
        _if_ok(lambda w, role, body: body["balance"] == 6090 and body["redemption"]["code"]),
    ),
    "loyalty.redemptions": Case(
        "GET", "/loyalty/members/{int:customer_id}/redemptions",
        lambda w, c: c.get(f"loyalty/members/{_coupon(w).member.customer_id}/redemptions"),
        seen(200), _if_ok(lambda w, role, body: [x["code"] for x in body["items"]]
                          == [w.coupon.code]),
    ),
    "loyalty.member_referrals": Case(
        "GET", "/loyalty/members/{int:customer_id}/referrals",
        lambda w, c: c.get(f"loyalty/members/{_referral(w).referrer.customer_id}/referrals"),
        seen(200), _if_ok(lambda w, role, body: body["referrals"] == 1),
    ),
    "loyalty.tier_moves": Case(
        "GET", "/loyalty/members/{int:customer_id}/tier-moves",
        lambda w, c: c.get(f"loyalty/members/{_member(w).customer_id}/tier-moves"), seen(200),
        _if_ok(lambda w, role, body: [m["to_tier"] for m in body["items"]] == ["gold"]),
    ),
    # Rewards and coupons: the catalogue is read by all; a coupon is checked for a customer
    # one sees.
    "loyalty.rewards": Case(
        "GET", "/loyalty/rewards", lambda w, c: (_reward(w), c.get("loyalty/rewards"))[1],
        everyone(200), lists_pk(lambda w: w.reward.pk, set(ROLES)),
    ),
    "loyalty.reward_create": Case(
        "POST", "/loyalty/rewards",
        lambda w, c: c.post("loyalty/rewards", {"name": "礼品", "kind": "gift", "points": 50}),
        loyalty_managers(201),
    ),
    "loyalty.reward": Case(
        "GET", "/loyalty/rewards/{int:reward_id}",
        lambda w, c: c.get(f"loyalty/rewards/{_reward(w).pk}"), everyone(200),
    ),
    "loyalty.reward_patch": Case(
        "PATCH", "/loyalty/rewards/{int:reward_id}",
        lambda w, c: c.patch(f"loyalty/rewards/{_reward(w).pk}", {"stock": 5}),
        loyalty_managers(200),
    ),
    "loyalty.coupon_check": Case(
        "POST", "/loyalty/coupons/check",
        lambda w, c: c.post("loyalty/coupons/check",
                            {"code": _coupon(w).code, "customer": w.target.pk}),
        seen(200), _if_ok(lambda w, role, body: body["status"] == "issued"),
    ),
    "loyalty.coupon_check_not_theirs": Case(
        "POST", "/loyalty/coupons/check",
        lambda w, c: c.post("loyalty/coupons/check",
                            {"code": _coupon(w).code, "customer": w.disposable.pk}),
        everyone(404),
    ),
    # Tiers: read by all (counting only the members one sees), changed by admins and marketers.
    "loyalty.tiers": Case(
        "GET", "/loyalty/tiers", lambda w, c: (_member(w), c.get("loyalty/tiers"))[1],
        everyone(200), _gold_counts_target,
    ),
    "loyalty.tier_create": Case(
        "POST", "/loyalty/tiers",
        lambda w, c: c.post("loyalty/tiers", {"key": "diamond", "name": "钻石会员", "rank": 4,
                                              "threshold": "50000"}),
        loyalty_managers(201),
    ),
    "loyalty.tier_patch": Case(
        "PATCH", "/loyalty/tiers/{int:tier_id}",
        lambda w, c: (_member(w), c.patch(f"loyalty/tiers/{_gold(w).pk}",
                                          {"threshold": "6000"}))[1],
        loyalty_managers(200), _if_ok(lambda w, role, body: body["members"] == 1),
    ),
    # Earning rules in versions: read by all, drafted and published by admins and marketers;
    # a published version is never changed (409, once the role may manage at all).
    "loyalty.rules": Case(
        "GET", "/loyalty/rules", lambda w, c: (_draft(w), c.get("loyalty/rules"))[1],
        everyone(200), lists_pk(lambda w: w.draft.pk, set(ROLES)),
    ),
    "loyalty.rules_draft": Case(
        "POST", "/loyalty/rules",
        lambda w, c: c.post("loyalty/rules", {"note": "春季", "base_rate": "2"}),
        loyalty_managers(201),
    ),
    "loyalty.rules_version": Case(
        "GET", "/loyalty/rules/{int:version_id}",
        lambda w, c: c.get(f"loyalty/rules/{_published(w).pk}"), everyone(200),
        _if_ok(lambda w, role, body: body["in_force"]),
    ),
    "loyalty.rules_patch": Case(
        "PATCH", "/loyalty/rules/{int:version_id}",
        lambda w, c: c.patch(f"loyalty/rules/{_draft(w).pk}", {"note": "改"}),
        loyalty_managers(200),
    ),
    "loyalty.rules_patch_published": Case(
        "PATCH", "/loyalty/rules/{int:version_id}",
        lambda w, c: c.patch(f"loyalty/rules/{_published(w).pk}", {"note": "改"}),
        loyalty_managers(409),
    ),
    "loyalty.rules_publish": Case(
        "POST", "/loyalty/rules/{int:version_id}/publish",
        lambda w, c: c.post(f"loyalty/rules/{_draft(w).pk}/publish", {}),
        loyalty_managers(200), _if_ok(lambda w, role, body: body["in_force"]),
    ),
    "loyalty.rules_publish_published": Case(
        "POST", "/loyalty/rules/{int:version_id}/publish",
        lambda w, c: c.post(f"loyalty/rules/{_published(w).pk}/publish", {}),
        loyalty_managers(409),
    ),
    # Referrals: listed when both customers are seen; attributed like enrolling.
    "loyalty.referrals": Case(
        "GET", "/loyalty/referrals", lambda w, c: (_referral(w), c.get("loyalty/referrals"))[1],
        everyone(200), lists_pk(lambda w: w.referral.pk, SEES_TARGET),
    ),
    "loyalty.referrals_half_seen": Case(
        "GET", "/loyalty/referrals",
        lambda w, c: (_unowned_referral(w), c.get("loyalty/referrals"))[1], everyone(200),
        lists_pk(lambda w: w.unowned_referral.pk, SEES_TARGET & SEES_UNOWNED),
    ),
    "loyalty.referral_attribute": Case(
        "POST", "/loyalty/referrals",
        lambda w, c: c.post("loyalty/referrals", {"customer": w.disposable.pk,
                                                  "code": _member(w).referral_code}),
        seen(201),
    ),
    # The backtest replays every customer's orders: admins and marketers only.
    "loyalty.backtest": Case(
        "POST", "/loyalty/backtest",
        lambda w, c: (_member(w), c.post("loyalty/backtest", {"months": 3}))[1],
        loyalty_managers(200), _if_ok(lambda w, role, body: body["orders"] == 1),
    ),
}  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", list(CASES))
def test_role_gets_exactly_what_the_matrix_says(world, api, name, role):
    case = CASES[name]
    response = case.call(world, api(world.users[role]))
    assert response.status_code == case.expect[role], (name, role, response.content[:300])
    if response.status_code >= 400:
        assert response.json()["detail"]
    if case.check is not None:
        case.check(world, role, response)


def test_hidden_customer_leaks_nothing_in_a_404(world, api):
    client = api(world.users["far_rep"])
    for path in [
        f"customers/{world.target.pk}",
        f"customers/{world.target.pk}/timeline",
        f"orders/{world.order.pk}",
        f"contacts/{world.contact.pk}",
    ]:
        r = client.get(path)
        assert r.status_code == 404
        assert "靶子" not in r.content.decode()
    # A hidden id and an id that does not exist answer alike.
    assert (
        client.get("customers/987654321").json()
        == client.get(f"customers/{world.target.pk}").json()
    )


def test_grant_lets_a_rep_see_a_colleagues_customers_everywhere(world, api):
    rep, rep2 = world.users["rep"], world.users["rep2"]
    grant_create(actor=rep, grantee=rep2, owner=rep)
    client = api(rep2)
    pk = world.target.pk
    for path in [
        f"customers/{pk}",
        f"customers/{pk}/timeline",
        f"customers/{pk}/stage-history",
        f"orders/{world.order.pk}",
        f"contacts/{world.contact.pk}",
        f"interactions/{world.interaction.pk}",
    ]:
        assert client.get(path).status_code == 200, path
    for path in ["contacts", "orders", "interactions", "tasks"]:
        assert client.get(path, {"customer": pk}).status_code == 200, path
    assert pk in _ids(client.get("customers", {"q": "bazikeji"}))
    # Seeing is not editing, until the grant says so.
    assert client.patch(f"customers/{pk}", {"industry": "x"}).status_code == 403
    grant_create(actor=rep, grantee=rep2, owner=rep, can_edit=True)
    assert client.patch(f"customers/{pk}", {"industry": "x"}).status_code == 200


def _operations():
    from guanxi.api import api

    for _prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                if operation.include_in_schema:
                    for method in operation.methods:
                        yield method, path


def test_every_endpoint_has_a_row_in_the_matrix():
    covered = {(case.method, case.path) for case in CASES.values()}
    missing = sorted(set(_operations()) - covered)
    assert not missing, f"endpoints without an access test: {missing}"


@pytest.mark.parametrize(("method", "path"), sorted(set(_operations())))
def test_every_endpoint_wants_authentication(db, method, path):
    from django.test import Client

    url = "/api/v1" + path.replace("{int:", "{").format(
        customer_id=1, contact_id=1, interaction_id=1, order_id=1, task_id=1, user_id=1,
        token_id=1, key="level", job_id=1, review_id=1, merge_id=1, refresh_id=1,
        termination_id=1, segment_id=1, notification_id=1, evaluation_id=1, run_id=1,
        reward_id=1, tier_id=1, version_id=1,
    )  # fmt: skip
    r = Client().generic(method, url, "{}", content_type="application/json")
    assert r.status_code == 401, (method, path, r.content[:200])
    assert r.json()["detail"]
