"""An import process killed in the middle (SIGKILL, no chance to clean up) leaves no row the
import does not account for: nothing at all when it is all-or-nothing, exactly the committed
chunks when it is resumable, and running the same command again continues where it stopped.

Black-box: `guanxi` runs in subprocesses against a database of their own (a file under a
temporary data folder for SQLite, a temporary database for PostgreSQL)."""

import contextlib
import csv
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROWS = 60_000  # enough chunks (5,000 rows each) to be caught in the middle


@pytest.fixture
def env(tmp_path):
    env = dict(os.environ, GUANXI_DATA_DIR=str(tmp_path / "data"), DJANGO_SETTINGS_MODULE="")
    env.pop("DJANGO_SETTINGS_MODULE")
    database = None
    if os.environ.get("DATABASE_URL"):
        import psycopg

        base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
        database = f"gx_killed_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {database}")
        env["DATABASE_URL"] = f"{base}/{database}"
    guanxi(env, "manage", "migrate", "-v", "0")
    guanxi(env, "createuser", "boss", "--role", "admin", "--password", "kill-test-pass-42")
    yield env
    if database:
        import psycopg

        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def guanxi(env, *args, check=True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "guanxi.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=check,
        timeout=600,
    )


def state(env) -> dict:
    code = (
        "import json; from guanxi.customers.models import Customer; "
        "from guanxi.imports.models import ImportJob, ImportRecord; "
        "print(json.dumps({'customers': Customer.objects.count(), "
        "'distinct': Customer.objects.values('name').distinct().count(), "
        "'records': ImportRecord.objects.count(), "
        "'jobs': list(ImportJob.objects.order_by('pk').values('status', 'rows_committed'))}))"
    )
    return json.loads(guanxi(env, "manage", "shell", "-c", code).stdout.strip().splitlines()[-1])


def write_file(path: Path) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["姓名", "手机"])
        for i in range(ROWS):
            writer.writerow([f"客户{i:06d}", f"139{i:08d}"])
    return path


def kill_mid_import(env, path: Path, *extra) -> None:
    """Start the import and SIGKILL it once at least one chunk is done, before the end."""
    progress = Path(env["GUANXI_DATA_DIR"]) / "imports" / "progress"
    process = subprocess.Popen(
        [sys.executable, "-m", "guanxi.cli", "import", "customers", str(path), "--quiet", *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            done = 0
            for f in progress.glob("*.json"):
                with contextlib.suppress(OSError, ValueError):
                    done = max(done, json.loads(f.read_text())["rows_done"])
            if 10_000 <= done < ROWS:
                process.send_signal(signal.SIGKILL)
                break
            if process.poll() is not None:
                pytest.fail("the import finished before it could be killed")
            time.sleep(0.01)
        else:
            pytest.fail("the import made no progress")
    finally:
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL


def test_killed_all_or_nothing_import_leaves_nothing(env, tmp_path):
    path = write_file(tmp_path / "customers.csv")
    kill_mid_import(env, path)
    seen = state(env)
    assert seen["customers"] == 0 and seen["records"] == 0
    assert seen["jobs"] == [{"status": "running", "rows_committed": 0}]


def test_killed_resumable_import_keeps_exactly_its_chunks_and_continues(env, tmp_path):
    path = write_file(tmp_path / "customers.csv")
    kill_mid_import(env, path, "--resumable")
    seen = state(env)
    committed = seen["jobs"][0]["rows_committed"]
    assert committed > 0 and committed % 5000 == 0
    assert seen["customers"] == committed == seen["records"]
    out = guanxi(env, "import", "customers", str(path), "--resumable", "--quiet").stdout
    assert f"{committed:,}" in out.splitlines()[0]  # "Continuing import #1 after row …"
    seen = state(env)
    assert seen["customers"] == ROWS == seen["distinct"] == seen["records"]
    assert seen["jobs"] == [{"status": "completed", "rows_committed": ROWS}]
