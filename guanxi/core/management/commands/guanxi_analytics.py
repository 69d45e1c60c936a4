"""`guanxi analytics refresh | show`: customer value (RFM, lifetime value, P(alive))."""

from django.utils.translation import gettext as _

from ._actor import acting_user
from ._base import GuanxiCommand


class Command(GuanxiCommand):
    help = _(
        "Refresh every customer's value figures (RFM, BG/NBD and Gamma-Gamma lifetime value, "
        "P(alive)) as of a date, or show the latest fit and segments."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        refresh = sub.add_parser("refresh", help=_("recompute every customer's value now"))
        refresh.add_argument(
            "--as-of",
            dest="as_of",
            default=None,
            help=_("end of the observation window, YYYY-MM-DD (default: today)"),
        )
        refresh.add_argument("--as", dest="as_user", default="",
                             help=_("act as this user (default: the first admin)"))  # fmt: skip
        show = sub.add_parser("show", help=_("the latest fit, its diagnostics and the segments"))
        show.add_argument(
            "--as",
            dest="as_user",
            default="",
            help=_("show what this user may see (default: the first admin)"),
        )

    def handle(self, *args, action, as_user, **options):
        actor = acting_user(as_user)
        if action == "refresh":
            from guanxi.analytics.services import value_refresh

            done = value_refresh(
                actor=actor, as_of=options["as_of"], on_progress=lambda t: self.stderr.write(t)
            )
            self.stdout.write(
                _("Value refreshed as of %(date)s: %(customers)s customers, %(buyers)s buyers, "
                  "%(repeat)s repeat buyers.")
                % {
                    "date": done.as_of.isoformat(),
                    "customers": f"{done.customers:,}",
                    "buyers": f"{done.buyers:,}",
                    "repeat": f"{done.repeat_buyers:,}",
                }
            )  # fmt: skip
        self._show(actor)

    def _show(self, actor):
        from guanxi.analytics import selectors

        clv = selectors.clv_summary(actor=actor)
        if clv["as_of"] is None:
            self.stdout.write(_("No value refresh yet: run `guanxi analytics refresh`."))
            return
        model = clv["model"]
        if model:
            params = ", ".join(f"{k} = {v:.4g}" for k, v in model["parameters"].items())
            self.stdout.write(
                _("%(label)s (time unit: %(unit)s): %(params)s; log-likelihood %(ll).2f")
                % {"label": model["label"], "unit": model["time_unit"], "params": params,
                   "ll": model["log_likelihood"]}
            )  # fmt: skip
        if clv["spend_model"]:
            spend = clv["spend_model"]
            params = ", ".join(f"{k} = {v:.4g}" for k, v in spend["parameters"].items())
            self.stdout.write(
                _("%(label)s: %(params)s; log-likelihood %(ll).2f")
                % {"label": spend["label"], "params": params, "ll": spend["log_likelihood"]}
            )
        for problem in clv["problems"]:
            self.stdout.write(_("note: %(text)s") % {"text": problem})
        if clv["holdout"]:
            h = clv["holdout"]
            self.stdout.write(
                _("Holdout to %(until)s (%(weeks)s weeks): %(actual)s purchases, "
                  "%(predicted)s predicted.")
                % {"until": h["until"], "weeks": h["weeks"], "actual": f"{h['actual']:,.0f}",
                   "predicted": f"{h['predicted']:,.1f}"}
            )  # fmt: skip
        rfm = selectors.rfm_summary(actor=actor)
        for s in rfm["segments"]:
            self.stdout.write(
                f"  {s['label']:<40} {s['customers']:>10,}  {s['customer_share']:>7.1%}"
                f"  {s['revenue_share']:>7.1%}"
            )
