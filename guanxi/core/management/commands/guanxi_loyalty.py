"""`guanxi loyalty expire | evaluate-tiers | award | backtest | daily`: the loyalty program's
batch work."""

import json
from pathlib import Path

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from guanxi.core.errors import ValidationFailed

from ._actor import acting_user
from ._base import GuanxiCommand


def _moment(value: str, field: str):
    """A date (its start, local time) or a date and time, or a ValidationFailed naming it."""
    if not value:
        return None
    parsed = parse_datetime(value)
    if parsed is None and (day := parse_date(value)) is not None:
        parsed = timezone.datetime.combine(day, timezone.datetime.min.time())
    if parsed is None:
        raise ValidationFailed(errors={field: [_("Not a date (YYYY-MM-DD) or date and time.")]})
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


class Command(GuanxiCommand):
    help = _(
        "The loyalty program's batch work: expire points (and warn of expiry), evaluate "
        "tiers, award points to orders that hold none (history, imports), backtest rules."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        expire = sub.add_parser("expire", help=_("expire points past their time; warn of expiry"))
        expire.add_argument("--at", default="", help=_("as if now were this time"))
        sub.add_parser("evaluate-tiers", help=_("move members between tiers (down after grace)"))
        award = sub.add_parser(
            "award", help=_("give points to every revenue order that holds none yet")
        )
        award.add_argument("--since", default="", help=_("only orders placed from this date"))
        award.add_argument("--json", action="store_true", help=_("print the counts as JSON"))
        backtest = sub.add_parser(
            "backtest", help=_("replay proposed rules over past orders against the current ones")
        )
        backtest.add_argument("--version", type=int, default=None,
                              help=_("a draft rules version's id"))  # fmt: skip
        backtest.add_argument(
            "--rules", default="", help=_("a JSON file: base_rate, rounding, order_cap, rules")
        )
        backtest.add_argument(
            "--threshold", action="append", default=[], metavar="TIER=AMOUNT",
            help=_("a proposed tier threshold (repeatable), e.g. gold=4000"),
        )  # fmt: skip
        backtest.add_argument("--months", type=int, default=12, help=_("months of orders"))
        backtest.add_argument("--json", action="store_true", help=_("print the result as JSON"))
        backtest.add_argument("--as", dest="as_user", default="",
                              help=_("act as this user (default: the first admin)"))  # fmt: skip
        sub.add_parser("daily", help=_("everything the program does once a day"))

    def handle(self, *args, action, **options):
        from guanxi.loyalty import services

        if action == "expire":
            now = _moment(options["at"], "at") or timezone.now()
            expired = services.points_expire(now=now)
            warned = services.expiry_warn(now=now)
            self.stdout.write(
                _("Expired %(points)s points of %(members)s members; warned %(warned)s members "
                  "of %(soon)s points expiring soon.")
                % {"points": f"{expired['points']:,}", "members": f"{expired['members']:,}",
                   "warned": f"{warned['members']:,}", "soon": f"{warned['points']:,}"}
            )  # fmt: skip
        elif action == "evaluate-tiers":
            self._tiers(services.tiers_evaluate())
        elif action == "award":
            from guanxi.loyalty.services.award import orders_award

            since = _moment(options["since"], "since")
            done = orders_award(since=since, on_progress=self._progress)
            if options["json"]:
                expired = services.points_expire()
                tiers = services.tiers_evaluate()
                self.stdout.write(json.dumps({**done, "expired": expired, "tiers": tiers}))
                return
            self.stdout.write(
                _("Awarded %(points)s points to %(orders)s orders of %(members)s members "
                  "(%(enrolled)s enrolled) in %(seconds)s s: %(rate)s orders a second.")
                % {"points": f"{done['points']:,}", "orders": f"{done['orders']:,}",
                   "members": f"{done['members']:,}", "enrolled": f"{done['enrolled']:,}",
                   "seconds": done["seconds"],
                   "rate": f"{done['orders'] / done['seconds']:,.0f}" if done["seconds"] else "—"}
            )  # fmt: skip
            expired = services.points_expire()
            if expired["points"]:
                self.stdout.write(
                    _("Expired %(points)s points earned longer ago than the expiry period.")
                    % {"points": f"{expired['points']:,}"}
                )
            self._tiers(services.tiers_evaluate())
        elif action == "backtest":
            self._backtest(options)
        elif action == "daily":
            done = services.loyalty_daily()
            self.stdout.write(json.dumps(done, default=str, ensure_ascii=False))

    def _progress(self, counts):
        self.stderr.write(
            _("%(done)s of %(total)s customers, %(orders)s orders")
            % {"done": f"{counts['customers_done']:,}", "total": f"{counts['customers_total']:,}",
               "orders": f"{counts['orders']:,}"}
        )  # fmt: skip

    def _tiers(self, counts):
        self.stdout.write(
            _("Tiers evaluated for %(members)s members: %(up)s up, %(down)s down, %(grace)s "
              "entered the grace period, %(kept)s kept in grace.")
            % {"members": f"{counts['members']:,}", "up": counts["upgrade"],
               "down": counts["downgrade"], "grace": counts["grace"], "kept": counts["kept"]}
        )  # fmt: skip

    def _backtest(self, options):
        from guanxi.loyalty.services.backtest import backtest

        proposal: dict = {}
        if options["version"] is not None:
            proposal["version"] = options["version"]
        if options["rules"]:
            try:
                proposal.update(json.loads(Path(options["rules"]).read_text(encoding="utf-8")))
            except (OSError, ValueError) as e:
                raise ValidationFailed(errors={"rules": [str(e)]}) from e
        thresholds = {}
        for item in options["threshold"]:
            key, sep, amount = item.partition("=")
            if not sep:
                raise ValidationFailed(errors={"threshold": [_("Write TIER=AMOUNT.")]})
            thresholds[key.strip()] = amount.strip()
        if thresholds:
            proposal["thresholds"] = thresholds
        result = backtest(actor=acting_user(options["as_user"]), proposal=proposal,
                          months=options["months"])  # fmt: skip
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))
            return
        now, new = result["current"], result["proposed"]
        self.stdout.write(
            _("%(orders)s orders of %(customers)s customers over %(months)s months "
              "(%(seconds)s s).")
            % {"orders": f"{result['orders']:,}", "customers": f"{result['customers']:,}",
               "months": result["months"], "seconds": result["seconds"]}
        )  # fmt: skip
        self.stdout.write(f"{'':<12}{_('current'):>16}{_('proposed'):>16}")
        self.stdout.write(f"{_('points'):<12}{now['points']:>16,}{new['points']:>16,}")
        self.stdout.write(f"{_('liability'):<12}{now['liability']:>16,}{new['liability']:>16,}")
        for key in result["tier_keys"]:
            self.stdout.write(f"{key:<12}{now['tiers'][key]:>16,}{new['tiers'][key]:>16,}")
        for label, a, b in zip(result["month_labels"], now["per_month"], new["per_month"],
                               strict=True):  # fmt: skip
            self.stdout.write(f"{label:<12}{a:>16,}{b:>16,}")
