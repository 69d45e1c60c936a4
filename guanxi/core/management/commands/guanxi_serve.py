"""`guanxi serve`: migrate, load demo data if asked, make sure an admin exists, and serve."""

import os
import secrets
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.utils.translation import gettext as _

from guanxi.accounts.models import User
from guanxi.accounts.services import user_create

from ._base import GuanxiCommand

ADMIN = "admin"


def ensure_admin() -> tuple[str, str | None]:
    """(username, password to print or None): creates `admin` once with a random password,
    kept in the data folder so that later runs can print it again."""
    path = settings.DATA_DIR / "initial-admin-password"
    user = User.objects.filter(username=ADMIN).first()
    if user is None:
        password = secrets.token_urlsafe(12)
        user_create(
            actor=None,
            username=ADMIN,
            role="admin",
            password=password,
            display_name=_("Administrator"),
            check_password=False,
        )
        path.write_text(password)
        path.chmod(0o600)
        return ADMIN, password
    if path.exists() and user.check_password(path.read_text().strip()):
        return ADMIN, path.read_text().strip()
    return ADMIN, None


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class Command(GuanxiCommand):
    help = _("Migrate, load demo data (--demo 1), and serve Guanxi with granian.")

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--demo",
            choices=("0", "1"),
            default="0",
            help=_("load demo data when the database has no customers"),
        )
        parser.add_argument(
            "--with-worker", action="store_true", help=_("also run the background worker")
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help=_("web processes (default: 1 on SQLite, 2 on PostgreSQL)"),
        )

    def handle(self, *args, host, port, demo, with_worker, workers, **options):
        from django.db import connection

        from guanxi.customers.models import Customer

        write = self.stdout.write
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        if demo == "1" and not Customer.objects.exists():
            write(_("Loading demo data…"))
            call_command("guanxi_demo", stdout=self.stdout)
        username, password = ensure_admin()
        url = f"http://{host}:{port}/"
        write("")
        write("=" * 64)
        write(_("Guanxi is running at %(url)s") % {"url": url})
        if password:
            write(
                _("Log in as: %(user)s / %(password)s") % {"user": username, "password": password}
            )
        else:
            write(
                _("Log in as: %(user)s (its password was changed since it was generated)")
                % {"user": username}
            )
        if demo == "1":
            from guanxi.demo import DEMO_PASSWORD

            write(
                _(
                    "Demo users (rep, manager, agent, marketer…) use the password %(p)s; "
                    "list them with: guanxi demo --users"
                )
                % {"p": DEMO_PASSWORD}
            )
        write(_("API documentation: %(url)sapi/v1/docs") % {"url": url})
        write("=" * 64)
        sys.stdout.flush()

        manage = [sys.executable, "-m", "django"]
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "guanxi.settings"}
        worker = None
        if with_worker:
            worker = subprocess.Popen([*manage, "guanxi_worker", "--verbosity", "0"], env=env)
        processes = workers or (1 if connection.vendor == "sqlite" else 2)
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "granian",
                "--interface",
                "wsgi",
                "--host",
                host,
                "--port",
                str(port),
                "--workers",
                str(processes),
                "--no-ws",
                "--blocking-threads",
                "8",
                "guanxi.wsgi:application",
            ],
            env=env,
        )
        # SIGTERM (systemd, kill) stops the children too, as Ctrl-C does; without this the
        # granian processes outlive us and keep the port (granian binds with SO_REUSEPORT).
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            code = server.wait()
        except KeyboardInterrupt:
            server.send_signal(signal.SIGINT)
            code = server.wait()
        finally:
            if worker is not None:
                worker.terminate()
                try:
                    worker.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    worker.kill()
        sys.exit(code)
