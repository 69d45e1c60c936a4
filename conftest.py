"""Fixtures shared by every app's tests: users of each role, an API client with a token."""

import pytest
from django.utils import translation

from tests.factories import make_customer, make_user


@pytest.fixture(autouse=True)
def english_by_default(settings):
    """The product defaults to 简体中文; tests assert English text unless they ask for zh-hans
    (with an Accept-Language header or translation.override)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def team(db):
    from guanxi.accounts.services import team_get_or_create

    return team_get_or_create(name="华东 East")


@pytest.fixture
def other_team(db):
    from guanxi.accounts.services import team_get_or_create

    return team_get_or_create(name="华南 South")


@pytest.fixture
def admin(db):
    return make_user("admin1", "admin")


@pytest.fixture
def manager(team):
    return make_user("manager1", "manager", team=team)


@pytest.fixture
def rep(team):
    return make_user("rep1", "rep", team=team)


@pytest.fixture
def rep2(team):
    return make_user("rep2", "rep", team=team)


@pytest.fixture
def far_rep(other_team):
    return make_user("rep3", "rep", team=other_team)


@pytest.fixture
def agent(db):
    return make_user("agent1", "agent")


@pytest.fixture
def marketer(db):
    return make_user("marketer1", "marketer")


@pytest.fixture
def customer(rep):
    return make_customer(rep, name="张三", phones=["13800138000"], emails=["zhangsan@example.com"])


@pytest.fixture
def immediate_tasks(settings, django_capture_on_commit_callbacks):
    """Background tasks run at once, when the transaction that queued them commits."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    return django_capture_on_commit_callbacks


@pytest.fixture
def api():
    """`api(user)` → a client that sends that user's bearer token on every request."""
    from tests.factories import ApiClient

    return ApiClient


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Users are made in almost every test; a slow hash would dominate the suite's time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
