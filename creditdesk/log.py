"""Logging helpers for the settings' LOGGING."""

import logging


class WithoutTraceback(logging.Filter):
    """Log an exception as one line, its message, not a traceback.

    For the cache: with Redis down, django-redis ignores every cache error (the app works on without
    its cache) and logs each one; a full traceback per cache call buries what a person reading a
    command's output needs to see (`run_dunning` saying that the broker is down).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.msg = f"{record.getMessage()}: {record.exc_info[1]}"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True
