"""Where a browser form sends the user back to: the page it came from, if that page is ours.

A form posts `next` (the page to return to). Followed blindly it is an open redirect: a link or
form elsewhere could send a credit manager through our login to any site. Shared by every app's views.
"""

from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme


def redirect_to_next(request: HttpRequest, default: str) -> HttpResponseRedirect:
    """Redirect to the posted `next` when it is a URL on this site, else to `default` (a URL name or path)."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(default)
