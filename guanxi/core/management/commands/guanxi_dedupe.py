"""`guanxi dedupe`: find the duplicates already in the database and queue them for review."""

from django.utils.translation import gettext as _

from guanxi.customers.models import Customer
from guanxi.imports.dedupe import scan
from guanxi.imports.match_index import refresh

from ._actor import acting_user
from ._base import GuanxiCommand


class Command(GuanxiCommand):
    help = _(
        "Scan the customers for likely duplicates (the import's matcher), list the clusters, "
        "and put the pairs on the review queue."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--as",
            dest="as_user",
            default="",
            help=_("scan what this user may see (default: the first admin)"),
        )
        parser.add_argument("--dry-run", action="store_true",
                            help=_("list the clusters; queue nothing"))  # fmt: skip
        parser.add_argument("--show", type=int, default=20,
                            help=_("how many clusters to list"))  # fmt: skip
        parser.add_argument(
            "--index-only",
            action="store_true",
            help=_("only bring the index of match keys up to date (imports use it)"),
        )

    def handle(self, *args, as_user, dry_run, show, index_only, **options):
        if index_only:
            n = refresh(on_progress=lambda n: self.stderr.write(f"  {n:,}"))
            self.stdout.write(_("%(n)s customers indexed.") % {"n": f"{n:,}"})
            return
        actor = acting_user(as_user)

        def progress(step, n):
            label = _("customers read") if step == "read" else _("likely pairs scored")
            self.stderr.write(f"  {label}: {n:,}")

        result = scan(actor=actor, queue=not dry_run, on_progress=progress)
        self.stdout.write(
            _("%(customers)s customers, %(pairs)s likely pairs (%(same)s almost certain), "
              "%(clusters)s clusters, in %(s)s s.")
            % {
                "customers": f"{result['customers']:,}",
                "pairs": f"{result['pairs']:,}",
                "same": f"{result['same']:,}",
                "clusters": f"{len(result['clusters']):,}",
                "s": result["seconds"],
            }
        )  # fmt: skip
        names = dict(
            Customer.objects.filter(
                pk__in={pk for group in result["clusters"][:show] for pk in group}
            ).values_list("pk", "name")
        )
        for group in result["clusters"][:show]:
            self.stdout.write("  " + " · ".join(f"#{pk} {names.get(pk, '')}" for pk in group))
        if dry_run:
            self.stdout.write(_("Dry run: nothing was queued."))
        else:
            self.stdout.write(
                _("%(n)s pairs queued for review (Possible duplicates).")
                % {"n": f"{result['queued']:,}"}
            )
