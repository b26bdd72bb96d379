"""A small fixed-window limiter on Django's cache: per link and per address.

A link is a bearer secret, so guessing and hammering are limited twice: per token (a leaked link
cannot be used to flood one customer's collector) and per client address (one machine cannot walk
through guesses). Posts count five times a page view. If the cache is down the portal stays open:
availability for paying customers matters more than this second line (tokens are 256-bit).
"""

import logging
import time
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render

from customers.services import hash_token

logger = logging.getLogger(__name__)
POST_WEIGHT = 5


def over_limit(key: str, limit: int, weight: int) -> bool:
    window = int(time.time() // 60)
    name = f"portal:rate:{key}:{window}"
    try:
        cache.add(name, 0, timeout=120)
        return cache.incr(name, weight) > limit
    except Exception:  # noqa: BLE001 - a cache outage must not close the portal
        logger.warning("Portal throttle: cache unavailable, not limiting", exc_info=True)
        return False


def throttled(view):
    @wraps(view)
    def wrapper(request, token: str, *args, **kwargs):
        weight = POST_WEIGHT if request.method == "POST" else 1
        address = request.META.get("REMOTE_ADDR", "")
        if over_limit(f"ip:{address}", settings.PORTAL_RATE_PER_ADDRESS, weight) or over_limit(
            f"token:{hash_token(token)[:32]}", settings.PORTAL_RATE_PER_TOKEN, weight
        ):
            response = render(request, "portal/slow_down.html", status=429)
            response["Retry-After"] = "60"
            return response
        return view(request, token, *args, **kwargs)

    return wrapper
