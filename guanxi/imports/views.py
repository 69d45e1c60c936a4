"""The import pages: upload a file; map its columns and look at the first rows as they will be
stored; check every row; import with a progress bar; the report, failed rows and undo.

Views parse the request, call imports.services / selectors, and render."""

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from guanxi.accounts import access
from guanxi.core.errors import GuanxiError, NotFound, ValidationFailed

from . import pipeline, selectors, services
from .choices import ImportStatus
from .forms import OptionsForm, UploadForm

STATE_VARIANTS = {
    "analysed": "info",
    "queued": "default",
    "running": "primary",
    "interrupted": "warning",
    "completed": "success",
    "failed": "danger",
    "undone": "default",
}
COUNT_ORDER = ("created", "merged", "updated", "review", "skipped", "failed", "lines")


def job_url(job) -> str:
    return reverse("admin:imports_importjob_change", args=[job.pk])


def _job(request, object_id):
    try:
        return selectors.job_get(actor=request.user, job_id=object_id)
    except NotFound as e:
        raise Http404(gettext("Import not found.")) from e


def _context(request, model_admin, **extra) -> dict:
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        **extra,
    }


def upload(request, model_admin):
    """Choose a file and what it holds; it is stored and looked at, nothing is imported."""
    if not access.can(request.user, "import.run"):
        raise Http404(gettext("Not found."))
    saved = selectors.saved_mappings(actor=request.user)
    form = UploadForm(request.POST or None, request.FILES or None, saved_mappings=saved)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.import_job_create(
                actor=request.user,
                kind=form.cleaned_data["kind"],
                file=form.cleaned_data["file"],
                file_name=form.cleaned_data["file"].name,
                saved_mapping=form.cleaned_data["saved_mapping"] or None,
            )
        except ValidationFailed as error:
            for field, problems in error.errors.items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
        else:
            return HttpResponseRedirect(job_url(job))
    return TemplateResponse(
        request,
        "guanxi/imports/upload.html",
        _context(request, model_admin, title=gettext("Import a file"), form=form),
    )


def job_page(request, object_id, model_admin):
    """One import, at whatever stage it is: mapping and preview, progress, or report."""
    job = _job(request, object_id)
    if request.method == "POST":
        return _act(request, job)
    state = selectors.job_state(job)
    options = OptionsForm(
        initial={"mode": job.mode, "on_duplicate": job.on_duplicate, "resumable": job.resumable}
    )
    fields = selectors.import_fields(actor=request.user, kind=job.kind)
    labels = {f["key"]: f["label"] for f in fields}
    context = _context(
        request,
        model_admin,
        title=job.file_name,
        job=job,
        state=state,
        state_label=_state_label(job, state),
        state_variant=STATE_VARIANTS.get(state, "default"),
        progress=selectors.job_progress(job),
        counts=_counts(job.counts or {}),
        options=options,
        editable=job.status == ImportStatus.ANALYSED and not job.dry_run,
        fields=fields,
        labels=labels,
    )
    if context["editable"]:
        samples = selectors.column_samples(job=job)
        context["columns"] = [
            {
                "position": i,
                "header": h,
                "field": job.mapping.get(str(i), ""),
                "samples": samples[i],
            }
            for i, h in enumerate(job.headers)
        ]
        try:
            preview = pipeline.preview(job, actor=request.user, rows=20)
        except GuanxiError as error:
            preview = {"missing": [], "rows": [], "error": error.message}
        shown = [key for key in dict.fromkeys(job.mapping.values())]
        context["preview"] = preview
        context["preview_fields"] = [(key, labels.get(key, key)) for key in shown]
        context["preview_rows"] = [
            {**row, "cells": [row["values"].get(key, "") for key in shown]}
            for row in preview["rows"]
        ]
    if job.counts or job.status in (ImportStatus.COMPLETED, ImportStatus.FAILED):
        context["issues"] = list(selectors.job_issues(job=job)[:200])
        context["issue_count"] = selectors.job_issues(job=job).count()
        context["failed_count"] = (job.counts or {}).get("failed", 0)
    return TemplateResponse(request, "guanxi/imports/job.html", context)


def _counts(counts: dict) -> list[tuple[str, str, int]]:
    labels = {
        "created": gettext("Created"),
        "merged": gettext("Merged into existing"),
        "updated": gettext("Updated"),
        "review": gettext("Queued for review"),
        "skipped": gettext("Skipped"),
        "failed": gettext("Failed"),
        "lines": gettext("Order lines"),
    }
    return [(key, labels[key], counts[key]) for key in COUNT_ORDER if counts.get(key)]


def _state_label(job, state: str) -> str:
    if state == "interrupted":
        return gettext("Interrupted")
    if job.dry_run and state in ("queued", "running"):
        return gettext("Checking")
    if state == ImportStatus.ANALYSED and (job.counts or {}).get("dry_run"):
        return gettext("Checked, ready to import")
    return str(ImportStatus(job.status).label)


def _act(request, job):
    """The buttons of the job page; each ends in a redirect back to it."""
    action = request.POST.get("action", "")
    try:
        if action in ("save", "check", "start"):
            _save_mapping(request, job)
        if action == "check":
            services.import_job_start(actor=request.user, job=job, dry_run=True)
            messages.info(request, gettext("Checking every row; nothing is written."))
        elif action in ("start", "again"):
            services.import_job_start(actor=request.user, job=job)
            messages.info(request, gettext("The import is running. You may leave this page."))
        elif action == "undo":
            services.import_job_undo(actor=request.user, job=job)
            messages.success(request, gettext("The import was undone."))
        elif action == "save":
            messages.success(request, gettext("Mapping saved."))
    except GuanxiError as error:
        for problem in _problems(error):
            messages.error(request, problem)
    return HttpResponseRedirect(job_url(job))


def _save_mapping(request, job) -> None:
    if job.status != ImportStatus.ANALYSED:
        return
    options = OptionsForm(request.POST)
    if not options.is_valid():
        raise ValidationFailed(errors={k: list(v) for k, v in options.errors.items()})
    mapping = {
        key.removeprefix("col_"): value
        for key, value in request.POST.items()
        if key.startswith("col_")
    }
    services.import_job_configure(
        actor=request.user,
        job=job,
        mapping=mapping,
        mode=options.cleaned_data["mode"],
        on_duplicate=options.cleaned_data["on_duplicate"],
        resumable=options.cleaned_data["resumable"],
        save_mapping_as=options.cleaned_data["save_mapping_as"],
    )


def _problems(error: GuanxiError) -> list[str]:
    out = []
    for field, problems in error.errors.items():
        for problem in problems:
            out.append(problem if field == "__all__" else f"{field}: {problem}")
    return out or [error.message]


def progress(request, object_id, model_admin):
    """The progress bar, polled by the page while the import runs (htmx)."""
    job = _job(request, object_id)
    state = selectors.job_state(job)
    if state not in ("queued", "running"):
        response = HttpResponse('<div id="import-progress"></div>')
        response["HX-Refresh"] = "true"  # finished: reload to show the report
        return response
    return render(
        request,
        "guanxi/imports/progress.html",
        {"job": job, "progress": selectors.job_progress(job), "state": state},
    )


def failed_rows(request, object_id, model_admin):
    """The rows that were not imported, with why, as CSV to fix and import again."""
    job = _job(request, object_id)
    header, rows = selectors.failed_rows(job=job)
    response = StreamingHttpResponse(
        selectors.csv_text(header, rows), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localtime().strftime("%Y%m%d")
    response["Content-Disposition"] = (
        f'attachment; filename="import-{job.pk}-failed-rows-{stamp}.csv"'
    )
    return response
