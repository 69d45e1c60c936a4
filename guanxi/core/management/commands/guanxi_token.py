"""`guanxi token create|list|revoke`: API bearer tokens for scripts and integrations."""

from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts.models import ApiToken
from guanxi.accounts.services import token_create, token_revoke, user_get
from guanxi.core.errors import NotFound

from ._base import GuanxiCommand


def _user(username: str):
    try:
        return user_get(username=username)
    except NotFound as e:
        raise NotFound(errors={"username": [e.message]}) from e


def _when(moment) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}" if moment else "-"


class Command(GuanxiCommand):
    help = _("Create, list and revoke API tokens. `create` prints only the token.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{create,list,revoke}")
        create = sub.add_parser("create", help=_("issue a token for a user; prints only it"))
        create.add_argument("username")
        create.add_argument("--name", default="", help=_("what the token is for"))
        listing = sub.add_parser("list", help=_("a user's tokens (never the secrets)"))
        listing.add_argument("username")
        revoke = sub.add_parser("revoke", help=_("revoke a token by its id"))
        revoke.add_argument("id", type=int)

    def handle(self, *args, action, **options):
        if action == "create":
            user = _user(options["username"])
            _token, plain = token_create(actor=None, user=user, name=options["name"])
            self.stdout.write(plain)
        elif action == "list":
            user = _user(options["username"])
            for token in ApiToken.objects.filter(user=user).order_by("id"):
                state = (
                    _("revoked %(at)s") % {"at": _when(token.revoked_at)}
                    if token.revoked_at
                    else _("active")
                )
                self.stdout.write(
                    f"{token.pk}\t{token.prefix}…\t{token.name or '-'}\t"
                    f"{_when(token.created_at)}\t{_when(token.last_used_at)}\t{state}"
                )
        else:
            token = ApiToken.objects.filter(pk=options["id"]).first()
            if token is None:
                raise NotFound(
                    errors={"id": [_("No token with id %(id)s.") % {"id": options["id"]}]}
                )
            token_revoke(actor=None, token=token)
            self.stdout.write(_("Revoked token %(id)s.") % {"id": token.pk})
