"""The only tags and filters a dunning step template may use.

A step template is written by a credit manager and its words go out to customers, so its engine
starts from nothing (no `load`, `include`, `url`, `debug`...) and offers the few tags and filters
below, all of which only shape the plain values the template is given (see `rendering`).
"""

from django.contrib.humanize.templatetags import humanize
from django.template import Library, defaultfilters, defaulttags

register = Library()

ALLOWED_TAGS = ("if", "for", "with", "comment")
ALLOWED_FILTERS = (
    "add", "capfirst", "center", "cut", "date", "default", "default_if_none", "first", "floatformat",
    "join", "last", "length", "ljust", "lower", "pluralize", "rjust", "slice", "title", "truncatechars",
    "truncatewords", "upper", "wordwrap", "yesno",
)  # fmt: skip

for _name in ALLOWED_TAGS:
    register.tag(_name, defaulttags.register.tags[_name])
for _name in ALLOWED_FILTERS:
    register.filter(_name, defaultfilters.register.filters[_name])
register.filter("intcomma", humanize.intcomma)
