"""`guanxi createuser USERNAME --role ROLE`."""

from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _

from guanxi.accounts.choices import Role
from guanxi.accounts.services import team_get_or_create, user_create

from ._base import GuanxiCommand


class Command(GuanxiCommand):
    help = _("Create a user with a role (admin, manager, rep, agent, marketer).")

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, help=", ".join(Role.values))
        parser.add_argument("--password", help=_("generated and printed when not given"))
        parser.add_argument("--team")
        parser.add_argument("--email", default="")
        parser.add_argument("--name", default="", help=_("display name"))

    def handle(self, *args, username, role, password, team, email, name, **options):
        generated = not password
        password = password or get_random_string(16)
        user = user_create(
            actor=None,
            username=username,
            role=role,
            password=password,
            email=email,
            display_name=name,
            team=team_get_or_create(name=team) if team else None,
        )
        self.stdout.write(
            _("Created %(username)s (%(role)s).")
            % {"username": user.username, "role": user.get_role_display()}
        )
        if generated:
            self.stdout.write(_("Password: %(password)s") % {"password": password})
