"""Guanxi's settings for the benchmark scripts: the same, with English output so that the
scripts can read the commands' reports."""

from guanxi.settings import *  # noqa: F403

LANGUAGE_CODE = "en"
