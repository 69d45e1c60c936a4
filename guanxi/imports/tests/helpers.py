"""Making import files the way people's tools write them."""

import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile


def csv_bytes(rows, *, encoding="utf-8", delimiter=",", bom=False) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    data = buffer.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def post_import(client, data: bytes, name="customers.csv", **form):
    """POST /api/v1/imports as multipart, with the client's bearer token."""
    form.setdefault("kind", "customers")
    return client.client.post(
        "/api/v1/imports", {"file": upload(name, data), **form}, headers=client.headers
    )


def cli(*args) -> tuple[str, str]:
    """Run `guanxi import …`; its stdout and stderr."""
    from io import StringIO

    from django.core.management import call_command

    out, err = StringIO(), StringIO()
    call_command("guanxi_import", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def write_file(directory, rows, name="import.csv", **kw) -> str:
    """A CSV file of `rows` (header first) in `directory`; its path."""
    path = directory / name
    path.write_bytes(csv_bytes(rows, **kw))
    return str(path)


def start_import(client, job_id, immediate_tasks) -> dict:
    """Start an uploaded import through the API, run it at once, return the job as shown."""
    with immediate_tasks(execute=True):
        r = client.post(f"imports/{job_id}/start")
    assert r.status_code == 202, r.content
    return client.get(f"imports/{job_id}").json()


def issues_of(client, job_id) -> list[dict]:
    return client.get(f"imports/{job_id}/issues", {"limit": 200}).json()["items"]
