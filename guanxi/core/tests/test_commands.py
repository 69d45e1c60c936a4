"""The `guanxi` commands an operator scripts against: createuser, token, check, worker tasks."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from guanxi.accounts.models import AuditEntry, User
from guanxi.cli import main as cli_main
from guanxi.interactions.services import task_create, task_reminders_send


def run(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_createuser_makes_a_user_with_the_role_and_audits_it_as_cli(db):
    out, _err = run("guanxi_createuser", "li.si", "--role", "rep", "--password", "s3cret-pass!")
    user = User.objects.get(username="li.si")
    assert user.role == "rep" and user.check_password("s3cret-pass!")
    assert AuditEntry.objects.get(model="accounts.user", object_id=str(user.pk)).channel == "cli"


def test_createuser_with_an_unknown_role_names_the_field_and_exits_2(db):
    with pytest.raises(SystemExit) as exit_info:
        run("guanxi_createuser", "li.si", "--role", "boss")
    assert exit_info.value.code == 2
    assert not User.objects.filter(username="li.si").exists()


def test_createuser_error_line_names_role(db, capsys):
    err = StringIO()
    with pytest.raises(SystemExit):
        call_command("guanxi_createuser", "x", "--role", "boss", stderr=err)
    assert "role" in err.getvalue()


def test_createuser_generates_and_prints_a_password(db):
    out, _err = run("guanxi_createuser", "wang", "--role", "agent")
    password = out.strip().splitlines()[-1].split()[-1]
    assert User.objects.get(username="wang").check_password(password)


def test_token_create_prints_a_token_that_authenticates(rep):
    out, _err = run("guanxi_token", "create", "rep1")
    token = out.strip()
    response = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.json()["username"] == "rep1"


def test_token_revoke_stops_the_token_working(rep):
    token = run("guanxi_token", "create", "rep1")[0].strip()
    listing = run("guanxi_token", "list", "rep1")[0]
    token_id = listing.split()[0]
    run("guanxi_token", "revoke", token_id)
    response = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_token_for_unknown_user_exits_2(db):
    with pytest.raises(SystemExit) as exit_info:
        run("guanxi_token", "create", "nobody")
    assert exit_info.value.code == 2


def test_check_passes_on_a_migrated_database(db):
    out, _err = run("guanxi_check")
    assert "FAIL" not in out
    assert "Search index" in out or "搜索索引" in out


def test_cli_without_arguments_lists_the_commands(capsys):
    cli_main([])
    out = capsys.readouterr().out
    for name in ("serve", "demo", "createuser", "token", "check", "worker"):
        assert name in out


def test_cli_rejects_an_unknown_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["frobnicate"])
    assert exit_info.value.code == 2


def test_due_reminders_are_emailed_once(rep, settings):
    rep.email = "rep1@example.com"
    rep.save(update_fields=["email"])
    now = timezone.now()
    task_create(
        actor=rep,
        data={
            "title": "回访张三",
            "due_at": now + timedelta(hours=1),
            "remind_at": now - timedelta(minutes=1),
        },
    )
    task_create(actor=rep, data={"title": "later", "remind_at": now + timedelta(days=1)})
    assert task_reminders_send(now=now) == 1
    assert task_reminders_send(now=now) == 0
    assert len(mail.outbox) == 1 and "回访张三" in mail.outbox[0].subject
    assert mail.outbox[0].to == ["rep1@example.com"]


def test_reminder_sweep_runs_as_a_background_task(rep, settings):
    from guanxi.tasks import send_task_reminders

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    rep.email = "rep1@example.com"
    rep.save(update_fields=["email"])
    task_create(actor=rep, data={"title": "call", "remind_at": timezone.now()})
    result = send_task_reminders.enqueue()
    assert result.return_value == 1
