"""`guanxi demo`: deterministic bilingual demo data, small (through the services) or huge."""

from django.utils.translation import gettext as _

from guanxi.demo import DEMO_PASSWORD, SERVICES_LIMIT, ensure_demo_users, load_demo

from ._base import GuanxiCommand


def print_demo_users(write, users) -> None:
    write(_("Demo users (password: %(password)s):") % {"password": DEMO_PASSWORD})
    for user in users.users:
        team = user.team.name if user.team_id else ""
        write(f"  {user.username:<10} {user.display_name:<4}  {user.role:<8} {team}")


class Command(GuanxiCommand):
    help = _(
        "Load deterministic bilingual demo data: users of every role, customers (persons and "
        "companies with contacts), orders with lines, interactions and tasks."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=300, help=_("how many customers"))
        parser.add_argument("--orders", type=int, default=1000, help=_("how many orders"))
        parser.add_argument("--seed", type=int, default=1, help=_("same seed, same data"))
        parser.add_argument(
            "--users", action="store_true", help=_("only create the demo users and list them")
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help=_("delete all customers (with their orders, interactions, tasks) first"),
        )
        parser.add_argument(
            "--mode",
            choices=("auto", "services", "bulk"),
            default="auto",
            help=_(
                "services: through the services, with the full timeline and audit log; bulk: "
                "set-based in the database (fast); auto: services up to %(n)d customers"
            )
            % {"n": SERVICES_LIMIT},
        )

    def handle(self, *args, customers, orders, seed, users, reset, mode, **options):
        write = self.stdout.write
        if users:
            print_demo_users(write, ensure_demo_users())
            return
        result = load_demo(
            customers=customers, orders=orders, seed=seed, mode=mode, reset=reset, out=write
        )
        write(
            _("Demo data loaded (%(mode)s): %(customers)s customers, %(orders)s orders.")
            % {
                "mode": result.get("mode", "-"),
                "customers": f"{result.get('customers', 0):,}",
                "orders": f"{result.get('orders', 0):,}",
            }
        )
        for phase, seconds in result.get("phases", {}).items():
            write(f"  {phase}: {seconds:.1f} s")
        print_demo_users(write, ensure_demo_users())
