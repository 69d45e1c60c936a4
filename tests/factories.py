"""Test data made through the real services, so tests exercise what users exercise."""

import itertools
import json

from django.test import Client

from guanxi.accounts.services import token_create, user_create

_seq = itertools.count(1)
PASSWORD = "correct-horse-42"


def make_user(username, role, *, team=None, password=PASSWORD):
    return user_create(
        actor=None, username=username, role=role, team=team, password=password, check_password=False
    )


def make_customer(owner, *, name=None, allow_duplicate=True, **data):
    from guanxi.customers.services import customer_create

    data.setdefault("name", name or f"客户{next(_seq)}")
    if owner is not None:
        data.setdefault("owner", owner.pk)
    actor = owner if owner is not None and owner.role in ("admin", "manager", "rep") else None
    if actor is None:
        from guanxi.accounts.models import User

        actor = User.objects.filter(role="admin").first() or make_user(
            f"sys-admin-{next(_seq)}", "admin"
        )
    return customer_create(actor=actor, data=data, allow_duplicate=allow_duplicate)


def make_unowned_customer(*, name=None, **data):
    """A customer nobody owns (managers see these; reps do not), made by an admin."""
    from guanxi.accounts.models import User
    from guanxi.customers.services import customer_create

    data.setdefault("name", name or f"客户{next(_seq)}")
    data["owner"] = None
    actor = User.objects.filter(role="admin").first() or make_user(
        f"sys-admin-{next(_seq)}", "admin"
    )
    return customer_create(actor=actor, data=data, allow_duplicate=True)


def make_order(actor, customer, *, number=None, total="100.00", **data):
    from guanxi.orders.services import order_create

    data.setdefault("number", number or f"T{next(_seq):06d}")
    data.setdefault("lines", [{"product_name": "商品", "quantity": 1, "unit_price": total}])
    return order_create(actor=actor, customer=customer, data=data)


class ApiClient:
    """A Django test client speaking JSON to /api/v1 with a user's bearer token."""

    def __init__(self, user=None):
        self.client = Client()
        self.headers = {}
        if user is not None:
            _token, plain = token_create(actor=None, user=user)
            self.headers["Authorization"] = f"Bearer {plain}"

    def _url(self, path):
        return path if path.startswith("/") else f"/api/v1/{path}"

    def get(self, path, params=None):
        return self.client.get(self._url(path), params or {}, headers=self.headers)

    def _send(self, method, path, body):
        return getattr(self.client, method)(
            self._url(path),
            json.dumps(body),
            content_type="application/json",
            headers=self.headers,
        )

    def post(self, path, body=None):
        return self._send("post", path, body or {})

    def patch(self, path, body=None):
        return self._send("patch", path, body or {})

    def delete(self, path):
        return self.client.delete(self._url(path), headers=self.headers)
