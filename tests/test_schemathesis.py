"""Fuzz every operation of the OpenAPI schema in-process: no input may cause a server error.

Bounded and derandomised (15 examples per operation, positive and negative), authenticated as
an admin so that every operation runs past its access check.
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.factories import make_customer, make_order

# 15 keeps the suite quick; GUANXI_FUZZ_EXAMPLES=200 digs deeper by hand.
EXAMPLES = int(os.environ.get("GUANXI_FUZZ_EXAMPLES", "15"))
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture(autouse=True)
def keep_test_connection():
    """Django's WSGI handler closes the connection after each request; the test client does
    not, and neither must this in-process app, or the test's transaction is lost."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_headers(admin, rep):
    from guanxi.accounts.services import token_create
    from guanxi.customers.services import contact_create, custom_field_create

    # A few records for generated ids and filters to meet.
    company = make_customer(rep, name="华为技术", kind="company", phones=["13900139000"])
    contact_create(actor=admin, customer=company, data={"name": "王经理", "title": "采购"})
    make_order(admin, company, number="FUZZ-1")
    custom_field_create(
        actor=admin,
        data={"key": "budget", "label_zh": "预算", "field_type": "number", "min_value": 0},
    )
    _token, plain = token_create(actor=None, user=admin)
    return {"Authorization": f"Bearer {plain}"}


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_with_a_server_error(case, admin_headers):
    case.call_and_validate(headers=admin_headers, checks=[not_a_server_error])
