"""Users, teams, API tokens, audit log, the sidebar and the language switch in the staff UI."""

import pytest
from django.urls import reverse

from guanxi.accounts.models import ApiToken, User
from guanxi.accounts.services import token_create

ROLES = ["admin", "manager", "rep", "agent", "marketer"]
ADMIN_ONLY = [
    "/admin/accounts/user/",
    "/admin/accounts/user/add/",
    "/admin/accounts/team/",
    "/admin/accounts/auditentry/",
    "/admin/customers/customfielddefinition/",
]
EVERYONE = [
    "/admin/",
    "/admin/accounts/apitoken/",
    "/admin/accounts/apitoken/add/",
    "/admin/customers/customer/",
    "/admin/customers/contact/",
    "/admin/customers/tag/",
    "/admin/interactions/interaction/",
    "/admin/interactions/task/",
    "/admin/orders/order/",
    "/admin/orders/product/",
]


@pytest.fixture
def users(admin, manager, rep, agent, marketer):
    return {"admin": admin, "manager": manager, "rep": rep, "agent": agent, "marketer": marketer}


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reaches_the_pages_it_may_use(client, users, role):
    client.force_login(users[role])
    for url in EVERYONE:
        assert client.get(url).status_code == 200, url
    for url in ADMIN_ONLY:
        assert client.get(url).status_code == (200 if role == "admin" else 403), url


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    r = client.get("/admin/customers/customer/")
    assert r.status_code == 302 and "/admin/login/" in r["Location"]


def test_sidebar_shows_admin_settings_only_to_admins(client, admin, rep):
    client.force_login(rep)
    body = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for link in (
        "/admin/customers/customer/",
        "/admin/customers/contact/",
        "/admin/interactions/interaction/",
        "/admin/interactions/task/",
        "/admin/orders/order/",
    ):
        assert f'href="{link}"' in body, link
    assert "/admin/accounts/user/" not in body
    assert "/admin/accounts/auditentry/" not in body
    client.force_login(admin)
    body = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "/admin/accounts/user/" in body and "/admin/accounts/auditentry/" in body


def test_language_switch_posts_to_setlang_and_sticks(client, rep):
    client.force_login(rep)
    body = client.get("/admin/").content.decode()
    assert reverse("set_language") in body and "简体中文" in body and "English" in body
    r = client.post(reverse("set_language"), {"language": "en", "next": "/admin/"})
    assert r.status_code == 302
    assert '<html lang="en"' in client.get("/admin/").content.decode()
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/admin/"})
    assert '<html lang="zh-hans"' in client.get("/admin/").content.decode()


def test_admin_creates_a_user_with_a_password(client, admin, team):
    client.force_login(admin)
    r = client.post(
        "/admin/accounts/user/add/",
        {
            "username": "xiaoming",
            "display_name": "小明",
            "email": "XM@Example.com",
            "role": "rep",
            "team": str(team.pk),
            "password1": "a-long-Secret-42",
            "password2": "a-long-Secret-42",
            "_save": "Save",
        },
    )
    assert r.status_code == 302
    user = User.objects.get(username="xiaoming")
    assert user.role == "rep" and user.team == team and user.is_staff
    assert user.email == "xm@example.com"
    assert user.check_password("a-long-Secret-42")


def test_user_form_shows_service_errors_on_the_fields(client, admin, rep):
    client.force_login(admin)
    r = client.post(
        "/admin/accounts/user/add/",
        {
            "username": "REP1",
            "role": "rep",
            "password1": "123",
            "password2": "123",
            "_save": "Save",
        },
    )
    assert r.status_code == 200
    errors = r.context["adminform"].form.errors
    assert "username" in errors or "password1" in errors
    assert User.objects.filter(username__iexact="rep1").count() == 1


def test_admin_changes_a_role_and_deactivates(client, admin, rep):
    client.force_login(admin)
    url = reverse("admin:accounts_user_change", args=[rep.pk])
    r = client.post(
        url,
        {"display_name": "老王", "email": "", "role": "manager", "team": "", "_save": "Save"},
    )
    assert r.status_code == 302
    rep.refresh_from_db()
    assert rep.role == "manager" and rep.display_name == "老王" and not rep.is_active


def test_a_user_creates_a_token_and_sees_it_once(client, rep):
    client.force_login(rep)
    r = client.post("/admin/accounts/apitoken/add/", {"name": "手机", "_save": "Save"}, follow=True)
    assert r.status_code == 200
    token = ApiToken.objects.get(user=rep)
    body = r.content.decode()
    shown = [m for m in r.context["messages"] if "gx_" in str(m)]
    assert shown and token.prefix in body
    plain = str(shown[0]).split("<code class='gx-token'>")[1].split("</code>")[0]
    assert ApiToken.hash(plain) == token.digest
    # Shown once: the list does not show it again.
    assert plain not in client.get("/admin/accounts/apitoken/").content.decode()


def test_users_see_and_revoke_only_their_own_tokens(client, rep, rep2):
    mine, _plain = token_create(actor=None, user=rep, name="mine")
    theirs, _plain = token_create(actor=None, user=rep2, name="theirs")
    client.force_login(rep)
    body = client.get("/admin/accounts/apitoken/").content.decode()
    assert mine.prefix in body and theirs.prefix not in body
    client.post(
        "/admin/accounts/apitoken/",
        {"action": "revoke", "_selected_action": [str(mine.pk), str(theirs.pk)], "index": "0"},
    )
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.revoked_at is not None and theirs.revoked_at is None
    assert (
        client.get(reverse("admin:accounts_apitoken_change", args=[theirs.pk])).status_code == 404
    )


def test_audit_log_lists_changes_for_admins(client, admin, customer):
    client.force_login(admin)
    body = client.get("/admin/accounts/auditentry/").content.decode()
    assert "张三" in body
    assert reverse("admin:customers_customer_360", args=[customer.pk]) in body
