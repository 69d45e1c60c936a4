"""`guanxi token create|list|revoke`: API bearer tokens."""

from django.utils.translation import gettext as _

from guanxi.accounts.models import ApiToken
from guanxi.accounts.services import token_create, token_revoke, user_get
from guanxi.core.errors import NotFound

from ._base import GuanxiCommand


class Command(GuanxiCommand):
    help = _("Create, list or revoke API tokens.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help=_("print a new token for USERNAME"))
        create.add_argument("username")
        create.add_argument("--name", default="cli")
        listing = sub.add_parser("list", help=_("list USERNAME's tokens"))
        listing.add_argument("username")
        revoke = sub.add_parser("revoke", help=_("revoke the token with this id"))
        revoke.add_argument("id", type=int)

    def handle(self, *args, action, **options):
        if action == "create":
            user = user_get(username=options["username"])
            _token, plain = token_create(actor=None, user=user, name=options["name"])
            self.stdout.write(plain)  # only the token, so scripts can capture it
        elif action == "list":
            user = user_get(username=options["username"])
            for t in ApiToken.objects.filter(user=user):
                state = _("revoked") if t.revoked_at else _("active")
                used = t.last_used_at.strftime("%Y-%m-%d %H:%M") if t.last_used_at else "-"
                self.stdout.write(f"{t.pk}\t{t.prefix}…\t{t.name}\t{state}\t{used}")
        else:
            token = ApiToken.objects.filter(pk=options["id"]).first()
            if token is None:
                raise NotFound(_("No token with id %(id)s.") % {"id": options["id"]})
            token_revoke(actor=None, token=token)
            self.stdout.write(_("Revoked token %(id)s.") % {"id": token.pk})
