"""The `guanxi` command: a thin front to Guanxi's management commands.

guanxi serve | demo | createuser | token | check | worker | import | export | dedupe
       | analytics | segments | loyalty
       | manage <django command>
"""

import os
import sys

COMMANDS = {
    "serve": ("guanxi_serve", "migrate, load demo data, serve the web app (and the worker)"),
    "demo": ("guanxi_demo", "load deterministic bilingual demo data (up to millions of rows)"),
    "createuser": ("guanxi_createuser", "create a user with a role"),
    "token": ("guanxi_token", "create, list or revoke API tokens"),
    "check": ("guanxi_check", "check configuration and database health"),
    "worker": ("guanxi_worker", "run background tasks and the periodic scheduler"),
    "import": ("guanxi_import", "import customers, contacts, orders or interactions from a file"),
    "dedupe": ("guanxi_dedupe", "find duplicate customers and queue them for review"),
    "export": ("guanxi_export", "export customers, contacts, orders, interactions or tasks"),
    "analytics": ("guanxi_analytics", "refresh customer value (RFM, lifetime value, P(alive))"),
    "segments": ("guanxi_segments", "segments: create, count, refresh, members, who joined/left"),
    "loyalty": (
        "guanxi_loyalty",
        "loyalty: expire points, evaluate tiers, award history, backtest",
    ),
    "manage": (None, "any Django management command (migrate, shell, dbshell…)"),
}


def usage() -> str:
    lines = ["usage: guanxi <command> [options]", "", "commands:"]
    lines += [f"  {name:<11} {text}" for name, (_cmd, text) in COMMANDS.items()]
    lines += ["", "guanxi <command> --help shows a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"guanxi: unknown command “{name}”\n\n{usage()}", file=sys.stderr)
        sys.exit(2)
    from django.core.management import execute_from_command_line

    from guanxi.core.context import set_channel

    set_channel("cli")
    command = COMMANDS[name][0]
    execute_from_command_line(["guanxi", *rest] if command is None else ["guanxi", command, *rest])


if __name__ == "__main__":
    main()
