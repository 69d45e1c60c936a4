"""Which surface a write came through (ui, api, cli, import), for the audit log."""

from contextlib import contextmanager
from contextvars import ContextVar

_channel: ContextVar[str] = ContextVar("guanxi_channel", default="system")


def current_channel() -> str:
    return _channel.get()


@contextmanager
def channel(name: str):
    token = _channel.set(name)
    try:
        yield
    finally:
        _channel.reset(token)


def set_channel(name: str) -> None:
    """Set the channel for the rest of this process (used by CLI commands)."""
    _channel.set(name)
