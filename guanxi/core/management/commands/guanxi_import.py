"""`guanxi import customers|contacts|orders|interactions FILE`, `guanxi import undo ID`,
`guanxi import list`: imports from the command line, with progress on stderr."""

import json
import time
from pathlib import Path

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from guanxi.core.errors import ValidationFailed
from guanxi.imports import selectors, services
from guanxi.imports.choices import ImportKind, ImportMode, ImportStatus, OnDuplicate
from guanxi.imports.models import ImportJob

from ._actor import acting_user
from ._base import GuanxiCommand

COUNT_LABELS = {
    "created": pgettext_lazy("rows of an import", "created"),
    "updated": pgettext_lazy("rows of an import", "updated"),
    "merged": pgettext_lazy("rows of an import", "merged"),
    "review": pgettext_lazy("rows of an import", "created and queued for review"),
    "skipped": pgettext_lazy("rows of an import", "skipped"),
    "failed": pgettext_lazy("rows of an import", "failed"),
    "lines": pgettext_lazy("rows of an import", "order lines"),
}


def counts_line(counts: dict) -> str:
    return ", ".join(
        f"{COUNT_LABELS[key]} {counts.get(key, 0):,}"
        for key in COUNT_LABELS
        if counts.get(key) or key in ("created", "failed")
    )


class Command(GuanxiCommand):
    help = _("Import customers, contacts, orders or interactions from a CSV or Excel file.")

    def add_arguments(self, parser):
        kinds = ",".join(ImportKind.values)
        sub = parser.add_subparsers(dest="action", required=True, metavar=f"{{{kinds},undo,list}}")
        for kind in ImportKind.values:
            p = sub.add_parser(kind, help=_("import %(kind)s from FILE") % {"kind": kind})
            p.add_argument("file")
            p.add_argument(
                "--mapping",
                help=_("a JSON file of column (header text or position) → field"),
            )
            p.add_argument("--saved-mapping", default="", help=_("use a mapping saved by name"))
            p.add_argument("--save-mapping", default="", help=_("save this mapping by name"))
            p.add_argument("--dry-run", action="store_true",
                           help=_("check every row and report; write nothing"))  # fmt: skip
            p.add_argument("--mode", choices=ImportMode.values, default=ImportMode.CREATE)
            p.add_argument("--on-duplicate", choices=OnDuplicate.values, default=OnDuplicate.MERGE)
            p.add_argument(
                "--resumable",
                action="store_true",
                help=_("commit in chunks; running the same command again continues"),
            )
            p.add_argument("--encoding", default="", help=_("the file's encoding, if not found"))
            p.add_argument("--delimiter", default="", help=_("the CSV delimiter, if not found"))
            p.add_argument("--sheet", default="", help=_("the Excel sheet (default: the first)"))
            p.add_argument("--failed-rows", default="",
                           help=_("write the rows that failed to this CSV file"))  # fmt: skip
            p.add_argument("--as", dest="as_user", default="",
                           help=_("import as this user (default: the first admin)"))  # fmt: skip
            p.add_argument("--quiet", action="store_true", help=_("no progress lines"))
        undo = sub.add_parser("undo", help=_("undo a completed import"))
        undo.add_argument("id", type=int)
        undo.add_argument("--as", dest="as_user", default="")
        listing = sub.add_parser("list", help=_("recent imports"))
        listing.add_argument("--as", dest="as_user", default="")

    def handle(self, *args, action, **options):
        actor = acting_user(options.get("as_user", ""))
        if action == "list":
            return self._list(actor)
        if action == "undo":
            job = selectors.job_get(actor=actor, job_id=options["id"])
            services.import_job_undo(actor=actor, job=job)
            self.stdout.write(_("Import #%(id)s undone.") % {"id": job.pk})
            return None
        return self._import(actor, action, options)

    def _list(self, actor):
        for job in selectors.job_list(actor=actor)[:50]:
            when = timezone.localtime(job.created_at).strftime("%Y-%m-%d %H:%M")
            self.stdout.write(
                f"{job.pk}\t{when}\t{job.kind}\t{selectors.job_state(job)}\t{job.file_name}\t"
                f"{counts_line(job.counts or {})}"
            )

    def _import(self, actor, kind, options):
        path = Path(options["file"])
        if not path.is_file():
            raise ValidationFailed(errors={"file": [_("No such file: %(p)s") % {"p": path}]})
        mapping = None
        if options["mapping"]:
            try:
                mapping = json.loads(Path(options["mapping"]).read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise ValidationFailed(errors={"mapping": [str(e)]}) from e
            if not isinstance(mapping, dict):
                raise ValidationFailed(
                    errors={"mapping": [_("The mapping must be a JSON object.")]}
                )
        job = self._resume(actor, kind, path, options) if options["resumable"] else None
        if job is None:
            with open(path, "rb") as f:
                job = services.import_job_create(
                    actor=actor,
                    kind=kind,
                    file=f,
                    file_name=path.name,
                    mapping=mapping,
                    saved_mapping=options["saved_mapping"],
                    mode=options["mode"],
                    on_duplicate=options["on_duplicate"],
                    resumable=options["resumable"],
                    encoding=options["encoding"],
                    delimiter=options["delimiter"],
                    sheet=options["sheet"],
                )
        if options["save_mapping"]:
            services.mapping_save(actor=actor, job=job, name=options["save_mapping"])
        self._describe(job)
        started = time.monotonic()
        progress = None if options["quiet"] else self._progress(job, started)
        job = services.import_job_run(job=job, dry_run=options["dry_run"], on_progress=progress)
        if progress:
            self.stderr.write("")
        seconds = time.monotonic() - started
        self._report(job, seconds, dry_run=options["dry_run"])
        if options["failed_rows"]:
            header, rows = selectors.failed_rows(job=job)
            with open(options["failed_rows"], "w", encoding="utf-8", newline="") as f:
                for piece in selectors.csv_text(header, rows):
                    f.write(piece)
            self.stdout.write(
                _("Failed rows written to %(path)s.") % {"path": options["failed_rows"]}
            )
        return None

    def _resume(self, actor, kind, path, options) -> ImportJob | None:
        """A resumable import of the same file that did not finish: carry on with it."""
        import hashlib

        digest = hashlib.sha256()
        with open(path, "rb") as f:
            while piece := f.read(1 << 20):
                digest.update(piece)
        job = (
            selectors.job_list(actor=actor)
            .filter(kind=kind, file_sha256=digest.hexdigest(), resumable=True)
            .exclude(status__in=[ImportStatus.COMPLETED, ImportStatus.UNDONE])
            .order_by("-pk")
            .first()
        )
        if job is not None:
            self.stdout.write(
                _("Continuing import #%(id)s after row %(n)s of %(total)s.")
                % {"id": job.pk, "n": f"{job.rows_committed:,}", "total": f"{job.rows_total:,}"}
            )
        return job

    def _describe(self, job: ImportJob) -> None:
        self.stdout.write(
            _("Import #%(id)s: %(name)s (%(format)s%(encoding)s), %(rows)s rows.")
            % {
                "id": job.pk,
                "name": job.file_name,
                "format": job.file_format,
                "encoding": f", {job.encoding}" if job.encoding else "",
                "rows": f"{job.rows_total or 0:,}",
            }
        )
        fields = selectors.import_fields(actor=job.created_by, kind=job.kind)
        labels = {f["key"]: f["label"] for f in fields}
        for position, header in enumerate(job.headers):
            key = job.mapping.get(str(position))
            target = labels.get(key, key) if key else _("(not imported)")
            self.stdout.write(f"  {header} → {target}")

    def _progress(self, job, started):
        total = job.rows_total or 0

        def show(done, counts):
            rate = done / max(time.monotonic() - started, 1e-9)
            percent = f"{100 * done / total:5.1f}%" if total else ""
            self.stderr.write(
                f"\r  {percent} {done:,}/{total:,} "
                + _("rows, %(rate)s per second") % {"rate": f"{rate:,.0f}"}
                + "   ",
                ending="",
            )
            self.stderr.flush()

        return show

    def _report(self, job: ImportJob, seconds: float, *, dry_run: bool) -> None:
        counts = job.counts or {}
        if dry_run:
            self.stdout.write(_("Dry run, nothing was written. It would have: %(counts)s.") % {
                "counts": counts_line(counts)})  # fmt: skip
        else:
            self.stdout.write(
                _("Import #%(id)s done in %(s).1f s: %(counts)s.")
                % {"id": job.pk, "s": seconds, "counts": counts_line(counts)}
            )
        issues = selectors.job_issues(job=job)
        shown = 0
        for issue in issues[:30]:
            shown += 1
            column = f" [{issue.column}]" if issue.column else ""
            value = f" “{issue.value}”" if issue.value else ""
            self.stdout.write(
                f"  {_('row')} {issue.row}{column}{value}: {issue.message}"
                + (f" ({issue.get_severity_display()})" if issue.severity == "warning" else "")
            )
        more = issues.count() - shown
        if more > 0:
            self.stdout.write(_("  … and %(n)s more problems.") % {"n": f"{more:,}"})
        if job.status == ImportStatus.COMPLETED and not dry_run:
            self.stdout.write(_("Undo with: guanxi import undo %(id)s") % {"id": job.pk})
