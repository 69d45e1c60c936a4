"""The database a benchmark script measures: its environment, and emptying it for a load."""

import os
import subprocess
from pathlib import Path


def bench_env(db: str, *, data_dir: str, pg_name: str) -> dict:
    """The environment for `guanxi …` against the benchmark's own database: SQLite in
    GUANXI_DATA_DIR (default `data_dir`), or PostgreSQL `pg_name` (BENCH_DATABASE_URL
    overrides it)."""
    env = dict(os.environ)
    env.setdefault("GUANXI_DATA_DIR", data_dir)
    env.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")
    if db == "postgres":
        env["DATABASE_URL"] = env.get(
            "BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{pg_name}"
        )
    else:
        env.pop("DATABASE_URL", None)
        env.pop("GUANXI_SQLITE_PATH", None)
    return env


def empty_database(env: dict, db: str) -> None:
    """Start from nothing: the SQLite folder removed, or the PostgreSQL database made again."""
    if db == "sqlite":
        subprocess.run(["rm", "-rf", env["GUANXI_DATA_DIR"]], check=True)
    else:
        base, name = env["DATABASE_URL"].rsplit("/", 1)
        for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
            subprocess.run(["psql", f"{base}/postgres", "-q", "-c", sql], check=True)
    Path(env["GUANXI_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
