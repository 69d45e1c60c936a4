"""Settings for the django-import-export comparison in import_speed.py: Guanxi's own, with
that package installed (a benchmark-only dependency, `pip install -e '.[bench]'`)."""

from benchmarks.bench_settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "import_export"]  # noqa: F405
