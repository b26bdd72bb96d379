"""Who is changing things, and through what: set once per entry point, read by every audit entry.

Every app may import this module (it imports no app). The entry points set the context:
- browser pages and the admin: `AuditContextMiddleware` (after authentication);
- the API: `set_user` from the viewsets' `initial()`, since DRF authenticates a token only there;
- management commands, imports and Celery tasks: `audit_context(channel=...)` (no user: "system").
Outside any of these (a shell, a test calling a service), entries are by "system" through "system".
"""

import contextlib
import functools
from contextvars import ContextVar
from dataclasses import dataclass, replace

from django.db import models


class Channel(models.TextChoices):
    PAGE = "page", "Page"
    API = "api", "API"
    ADMIN = "admin", "Admin"
    IMPORT = "import", "Import"
    TASK = "task", "Task"
    COMMAND = "command", "Command"
    PORTAL = "portal", "Portal"  # a customer through their personal link (portal/), no user
    SYSTEM = "system", "System"


@dataclass(frozen=True)
class AuditContext:
    user: object | None = None  # an authenticated user, or None for "system"
    channel: str = Channel.SYSTEM
    by_token: bool = False


_NOBODY = AuditContext()
_current: ContextVar[AuditContext] = ContextVar("creditdesk_audit_context", default=_NOBODY)  # noqa: B039 - frozen
_KEEP = object()


def current() -> AuditContext:
    return _current.get()


@contextlib.contextmanager
def audit_context(*, channel: str, user=_KEEP, by_token: bool | None = None):
    """Attribute the changes made inside to `user` (the outer context's unless given), via `channel`."""
    outer = _current.get()
    inner = AuditContext(
        user=outer.user if user is _KEEP else _authenticated(user),
        channel=channel,
        by_token=outer.by_token if by_token is None else by_token,
    )
    token = _current.set(inner)
    try:
        yield inner
    finally:
        _current.reset(token)


def set_user(user, *, by_token: bool = False) -> None:
    """Name the user of the current context (the API learns who it is after the middleware ran)."""
    _current.set(replace(_current.get(), user=_authenticated(user), by_token=by_token and user is not None))


def _authenticated(user):
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def stamp_entry(sender, instance, **kwargs) -> None:
    """pre_save of an audit entry: fill who and through what from the context, unless given."""
    if instance.pk is not None:
        return
    stamp(instance)


def stamp(entry) -> None:
    now = _current.get()
    if entry.actor_id is None and now.user is not None:
        entry.actor = now.user
    if entry.actor_id is not None and not entry.actor_name:
        entry.actor_name = entry.actor.get_username()
        entry.actor_email = getattr(entry.actor, "email", None)
    if not entry.channel:
        entry.channel = now.channel
        entry.by_token = now.by_token


def connect_task_signals() -> None:
    """Celery tasks run as "system" through "task" (eager tasks inside a request keep its user)."""
    from celery.signals import task_postrun, task_prerun

    tokens: dict[str, object] = {}

    def started(task_id=None, **kwargs):
        outer = _current.get()
        tokens[task_id] = _current.set(replace(outer, channel=Channel.TASK))

    def finished(task_id=None, **kwargs):
        token = tokens.pop(task_id, None)
        if token is not None:
            _current.reset(token)

    task_prerun.connect(started, weak=False, dispatch_uid="audit-task-prerun")
    task_postrun.connect(finished, weak=False, dispatch_uid="audit-task-postrun")


def as_system(channel: str):
    """Decorate a command's handle (or any entry point without a user): its changes are by "system"."""

    def decorate(function):
        @functools.wraps(function)
        def run(*args, **kwargs):
            with audit_context(channel=channel, user=None, by_token=False):
                return function(*args, **kwargs)

        return run

    return decorate
