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
