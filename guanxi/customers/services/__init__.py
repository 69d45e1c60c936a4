"""Writes of customers, contacts, tags, stages and custom field definitions.

Every function checks the actor through accounts.access, validates the whole input before
writing anything (raising ValidationFailed naming each bad field), writes in one transaction,
records the change on the customer's timeline and in the audit log.
"""

from guanxi.core.errors import Errors

from .contacts import contact_create, contact_delete, contact_update
from .custom_fields import (
    custom_field_create,
    custom_field_delete,
    custom_field_update,
    get_definition,
)
from .customers import (
    customer_change_stage,
    customer_create,
    customer_delete,
    customer_update,
    customers_assign_owner,
    customers_tag,
)
from .fields import clean_custom_fields, duplicate_conflict
from .termination import (
    require_not_terminated,
    termination_approve,
    termination_reject,
    termination_request,
    termination_withdraw,
)

__all__ = [
    "Errors",
    "clean_custom_fields",
    "contact_create",
    "contact_delete",
    "contact_update",
    "custom_field_create",
    "custom_field_delete",
    "custom_field_update",
    "customer_change_stage",
    "customer_create",
    "customer_delete",
    "customer_update",
    "customers_assign_owner",
    "customers_tag",
    "duplicate_conflict",
    "get_definition",
    "require_not_terminated",
    "termination_approve",
    "termination_reject",
    "termination_request",
    "termination_withdraw",
]
