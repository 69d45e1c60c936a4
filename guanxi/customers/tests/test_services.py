"""Customer services, branch by branch: who may do what, and what gets written."""

import pytest

from guanxi.accounts.services import grant_create
from guanxi.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from guanxi.customers import selectors, services
from guanxi.customers.models import Customer, StageChange
from guanxi.interactions.models import TimelineEvent
from tests.factories import make_customer, make_order, make_unowned_customer


def test_create_validates_everything_before_writing(rep):
    with pytest.raises(ValidationFailed) as e:
        services.customer_create(
            actor=rep,
            data={
                "name": "张三",
                "phones": ["13800138000", "bad"],
                "emails": ["ok@example.com", "bad"],
                "addresses": [{"city": "上海", "street": "x" * 256}],
                "tags": ["x" * 51],
                "gender": "robot",
            },
        )
    assert {"phones", "emails", "addresses[0].street", "tags", "gender"} <= set(e.value.errors)
    assert Customer.objects.count() == 0


@pytest.mark.parametrize("role", ["agent", "marketer"])
def test_agents_and_marketers_cannot_create_customers(request, role):
    with pytest.raises(PermissionDenied):
        services.customer_create(actor=request.getfixturevalue(role), data={"name": "张三"})


def test_marketer_may_change_tags_only(marketer, customer):
    services.customer_update(actor=marketer, customer=customer, data={"tags": ["活动A"]})
    assert list(customer.tags.values_list("name", flat=True)) == ["活动A"]
    with pytest.raises(PermissionDenied):
        services.customer_update(actor=marketer, customer=customer, data={"name": "x"})
    with pytest.raises(PermissionDenied):
        services.customer_update(
            actor=marketer, customer=customer, data={"tags": ["b"], "notes": "x"}
        )


def test_agent_cannot_edit_or_tag(agent, customer):
    for data in [{"name": "x"}, {"tags": ["x"]}]:
        with pytest.raises(PermissionDenied):
            services.customer_update(actor=agent, customer=customer, data=data)


def test_rep_cannot_touch_another_reps_customer(rep2, customer):
    with pytest.raises(NotFound):
        services.customer_update(actor=rep2, customer=customer, data={"name": "x"})
    with pytest.raises(NotFound):
        services.customer_change_stage(actor=rep2, customer=customer, stage="active")
    with pytest.raises(NotFound):
        services.customer_delete(actor=rep2, customer=customer)


def test_manager_edits_team_and_unowned_customers_not_other_teams(manager, customer, far_rep):
    services.customer_update(actor=manager, customer=customer, data={"industry": "零售"})
    unowned = make_unowned_customer()
    services.customer_update(actor=manager, customer=unowned, data={"industry": "零售"})
    theirs = make_customer(far_rep)
    with pytest.raises(NotFound):
        services.customer_update(actor=manager, customer=theirs, data={"industry": "零售"})


def test_grant_lets_a_rep_see_and_with_edit_work_on_a_colleagues_customers(rep, rep2, customer):
    assert not selectors.customer_list(actor=rep2).filter(pk=customer.pk).exists()
    grant_create(actor=rep, grantee=rep2, owner=rep)
    assert selectors.customer_get(actor=rep2, customer_id=customer.pk) == customer
    with pytest.raises(PermissionDenied):
        services.customer_update(actor=rep2, customer=customer, data={"industry": "x"})
    grant_create(actor=rep, grantee=rep2, owner=rep, can_edit=True)
    services.customer_update(actor=rep2, customer=customer, data={"industry": "x"})
    assert Customer.objects.get(pk=customer.pk).industry == "x"


def test_a_rep_cannot_grant_access_to_someone_elses_customers(rep, rep2, far_rep):
    with pytest.raises(PermissionDenied):
        grant_create(actor=rep, grantee=far_rep, owner=rep2)


def test_manager_may_grant_within_the_team(manager, rep, rep2, customer):
    grant_create(actor=manager, grantee=rep2, owner=rep)
    assert selectors.customer_list(actor=rep2).filter(pk=customer.pk).exists()


def test_owner_change_is_recorded_on_the_timeline(manager, rep, rep2, customer):
    services.customer_update(actor=manager, customer=customer, data={"owner": rep2.pk})
    event = TimelineEvent.objects.filter(customer=customer, kind="owner_changed").get()
    assert event.data == {"from": "rep1", "to": "rep2"}


def test_nothing_changed_records_nothing(rep, customer):
    before = TimelineEvent.objects.count()
    services.customer_update(
        actor=rep, customer=customer, data={"name": "张三", "phones": ["+8613800138000"]}
    )
    assert TimelineEvent.objects.count() == before


def test_stage_to_same_stage_is_a_no_op(rep, customer):
    services.customer_change_stage(actor=rep, customer=customer, stage="lead")
    assert StageChange.objects.filter(customer=customer).count() == 1


def test_system_may_move_stages_without_an_actor(customer):
    services.customer_change_stage(actor=None, customer=customer, stage="at_risk", cause="规则")
    change = StageChange.objects.filter(customer=customer).first()
    assert (change.to_stage, change.actor_id, change.cause) == ("at_risk", None, "规则")


def test_overlong_cause_is_refused(rep, customer):
    with pytest.raises(ValidationFailed) as e:
        services.customer_change_stage(
            actor=rep, customer=customer, stage="active", cause="x" * 300
        )
    assert "cause" in e.value.errors


def test_delete_is_refused_with_orders_and_allowed_without(admin, manager, customer):
    make_order(admin, customer)
    with pytest.raises(Conflict):
        services.customer_delete(actor=manager, customer=customer)
    other = make_customer(manager)
    services.customer_delete(actor=manager, customer=other)
    assert not Customer.objects.filter(pk=other.pk).exists()


def test_assign_owner_skips_customers_already_with_that_owner(manager, rep, customer):
    assert (
        services.customers_assign_owner(actor=manager, customer_ids=[customer.pk], owner=rep) == 0
    )


def test_bulk_tag_is_idempotent(rep, customer):
    assert services.customers_tag(actor=rep, customer_ids=[customer.pk], add=["VIP"]) == 1
    assert services.customers_tag(actor=rep, customer_ids=[customer.pk], add=["VIP"]) == 0
    assert services.customers_tag(actor=rep, customer_ids=[customer.pk], remove=["nope"]) == 0


def test_contacts_follow_the_company_customers_access(rep, rep2, agent, customer):
    company = make_customer(rep, kind="company")
    contact = services.contact_create(actor=rep, customer=company, data={"name": "王经理"})
    with pytest.raises(NotFound):
        services.contact_update(actor=rep2, contact=contact, data={"title": "x"})
    with pytest.raises(PermissionDenied):
        services.contact_update(actor=agent, contact=contact, data={"title": "x"})
    with pytest.raises(ValidationFailed):
        services.contact_create(actor=rep, customer=customer, data={"name": "x"})


def test_only_one_primary_contact(rep):
    company = make_customer(rep, kind="company")
    a = services.contact_create(
        actor=rep, customer=company, data={"name": "甲", "is_primary": True}
    )
    b = services.contact_create(
        actor=rep, customer=company, data={"name": "乙", "is_primary": True}
    )
    a.refresh_from_db()
    assert (a.is_primary, b.is_primary) == (False, True)


def test_duplicate_check_ignores_blank_and_finds_across_forms(rep, customer):
    dupes = selectors.customer_duplicates(phones=["+8613800138000"], emails=[])
    assert dupes == [customer]
    assert selectors.customer_duplicates(phones=[], emails=[]) == []
    with pytest.raises(Conflict) as e:
        services.customer_create(actor=rep, data={"name": "x", "emails": ["ZHANGSAN@example.com"]})
    assert e.value.extra["duplicates"] == [{"id": customer.pk, "name": "张三"}]
