"""Users, the current user and API tokens over the API."""

import pytest

from guanxi.accounts.models import ApiToken, User


def _error(response, status):
    assert response.status_code == status, response.content
    return response.json()["errors"]


def test_me_says_who_and_what_role(rep, api):
    body = api(rep).get("me").json()
    assert (body["username"], body["role"], body["team"]) == ("rep1", "rep", "华东 East")


def test_admin_creates_a_user_with_a_role_and_team(admin, api):
    r = api(admin).post(
        "users",
        {
            "username": "wangwu",
            "role": "manager",
            "password": "a-long-enough-password-42",
            "email": "WangWu@Example.com",
            "display_name": "王五",
            "team": "华北 North",
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["role"], body["team"], body["email"]) == (
        "manager",
        "华北 North",
        "wangwu@example.com",
    )
    assert "password" not in body
    user = User.objects.get(username="wangwu")
    assert user.check_password("a-long-enough-password-42")


@pytest.mark.parametrize(
    ("data", "field", "status"),
    [
        ({"username": "", "role": "rep"}, "username", 422),
        ({"username": "x", "role": "king"}, "role", 422),
        ({"username": "x", "role": "rep", "password": "123"}, "password", 422),
        ({"username": "x", "role": "rep", "email": "nope"}, "email", 422),
        ({"username": "x", "role": "rep", "team": "t" * 101}, "team", 422),
        ({"username": "x", "role": "rep", "display_name": "d" * 101}, "display_name", 422),
        ({"username": "x", "role": "rep", "is_superuser": True}, "is_superuser", 422),
        ({"username": "REP1", "role": "rep"}, "username", 409),
    ],
)
def test_bad_user_input_names_the_field(admin, rep, api, data, field, status):
    assert field in _error(api(admin).post("users", data), status)


def test_admin_changes_role_team_and_deactivates(admin, rep, api):
    client = api(admin)
    r = client.patch(f"users/{rep.pk}", {"role": "manager", "team": "华南 South"})
    assert (r.json()["role"], r.json()["team"]) == ("manager", "华南 South")
    assert "role" in _error(client.patch(f"users/{rep.pk}", {"role": "king"}), 422)
    for field in ["is_active", "email", "display_name"]:
        r = client.patch(f"users/{rep.pk}", {field: None})
        assert r.status_code in (200, 422), r.content  # never a 500
    assert "is_active" in _error(client.patch(f"users/{rep.pk}", {"is_active": None}), 422)
    assert "email" in _error(client.patch(f"users/{rep.pk}", {"email": "x"}), 422)
    assert "username" in _error(client.patch(f"users/{rep.pk}", {"username": "x"}), 422)
    client.patch(f"users/{rep.pk}", {"is_active": False})
    assert not User.objects.get(pk=rep.pk).is_active
    assert client.patch("users/987654", {"role": "rep"}).status_code == 404


def test_promoting_to_admin_makes_a_superuser_and_back(admin, rep, api):
    api(admin).patch(f"users/{rep.pk}", {"role": "admin"})
    assert User.objects.get(pk=rep.pk).is_superuser
    api(admin).patch(f"users/{rep.pk}", {"role": "rep"})
    assert not User.objects.get(pk=rep.pk).is_superuser


def test_tokens_are_shown_once_and_work_until_revoked(rep, api):
    client = api(rep)
    r = client.post("tokens", {"name": "导入脚本"})
    assert r.status_code == 201
    created = r.json()
    plain = created["token"]
    assert plain.startswith(created["prefix"])
    listed = client.get("tokens").json()
    assert created["id"] in [t["id"] for t in listed]
    assert all("token" not in t for t in listed)
    assert not ApiToken.objects.filter(digest=plain).exists()  # only the hash is stored

    other = api()
    other.headers["Authorization"] = f"Bearer {plain}"
    assert other.get("me").json()["username"] == "rep1"
    assert other.get("tokens").json()[0]["last_used_at"] is not None
    assert client.delete(f"tokens/{created['id']}").status_code == 204
    assert other.get("me").status_code == 401
    revoked = next(t for t in client.get("tokens").json() if t["id"] == created["id"])
    assert revoked["revoked_at"] is not None


def test_a_user_cannot_see_or_revoke_anothers_tokens(rep, rep2, api):
    theirs = api(rep2).post("tokens", {"name": "x"}).json()
    assert theirs["id"] not in [t["id"] for t in api(rep).get("tokens").json()]
    assert api(rep).delete(f"tokens/{theirs['id']}").status_code == 404


def test_session_login_also_reaches_the_api(rep, api):
    from django.test import Client

    from tests.factories import PASSWORD

    client = Client()
    assert client.login(username="rep1", password=PASSWORD)
    assert client.get("/api/v1/me").json()["username"] == "rep1"
    # Writes over a session need the CSRF token, like any form.
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.login(username="rep1", password=PASSWORD)
    r = csrf_client.post("/api/v1/customers", {"name": "x"}, content_type="application/json")
    assert r.status_code in (401, 403)


def test_openapi_schema_and_docs_are_served_without_a_token(db):
    from django.test import Client

    client = Client()
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["info"]["title"] == "Guanxi API"
    assert client.get("/api/v1/docs").status_code == 200


def test_every_operation_declares_its_error_answers(db):
    from django.test import Client

    schema = Client().get("/api/v1/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"401", "422"} <= codes, (method, path, codes)
            if method in ("post", "patch", "delete"):
                assert {"400", "403", "404", "409", "422"} <= codes, (method, path, codes)
            if "{" in path:
                assert "404" in codes, (method, path)


def test_an_admin_cannot_lock_themselves_out(admin, api):
    client = api(admin)
    assert client.patch(f"users/{admin.pk}", {"is_active": False}).status_code == 403
    assert client.patch(f"users/{admin.pk}", {"role": "rep"}).status_code == 403
    assert client.patch(f"users/{admin.pk}", {"display_name": "管理员"}).status_code == 200
