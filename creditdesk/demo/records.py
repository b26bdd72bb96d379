"""Unsaved rows as plain records and tuples: what the generator builds instead of model instances.

A seed of 20,000 customers writes about eight million rows. Built as model instances and saved
with bulk_create, Django's per-instance work (Model.__init__, related descriptors, per-value
preparation) took most of the run. So the generator builds `Record`s (the model's fields with the
model's defaults, set and read by name) for the rows it shapes step by step, and plain tuples for
the large tables, and `creditdesk.demo.writer` hands the tuples to one COPY per table.

Ids are handed out by `Ids` while generating, from the values the writer reserved, so a child
row carries its parent's id and the whole chunk can be written in any order.
"""

from collections.abc import Callable
from datetime import datetime

from django.db.models import ForeignKey, Model


class Record:
    """An unsaved row of `model`: every field by name (foreign keys as the related object)."""

    model: type[Model]
    defaults: dict[str, object]
    names: frozenset[str]
    getters: tuple[Callable, ...]
    id: int | None = None

    def __init__(self, **values):
        if not values.keys() <= self.names:
            raise TypeError(f"{self.model.__name__} has no field {sorted(values.keys() - self.names)}")
        self.__dict__.update(self.defaults)
        self.__dict__.update(values)

    def row(self, created_at: datetime) -> tuple:
        """The values of `columns(model)`, in order; timestamps the database would set are `created_at`."""
        return tuple(getter(self, created_at) for getter in self.getters)


def record_type(model: type[Model]) -> type[Record]:
    """A Record class for `model`, with its defaults (None for nullable fields, "" for text)."""
    defaults, getters = {}, []
    for field in model._meta.concrete_fields:
        getters.append(_getter(field))
        if field.primary_key:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            defaults[field.name] = None
        else:
            defaults[field.name] = None if field.null and not field.has_default() else field.get_default()
    attributes = {
        "model": model,
        "defaults": defaults,
        "names": frozenset(defaults),
        "getters": tuple(getters),
        "__module__": __name__,
    }
    return type(f"{model.__name__}Record", (Record,), attributes)


def _getter(field) -> Callable:
    name = field.name
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return lambda record, created_at: getattr(record, name) or created_at
    if isinstance(field, ForeignKey):  # a record or a saved instance: its id
        return lambda record, created_at: None if (target := getattr(record, name)) is None else target.id
    return lambda record, created_at: getattr(record, name)


def columns(model: type[Model]) -> tuple[str, ...]:
    """The columns a Record's row() and the generator's tuples give, by attname, id first."""
    return tuple(field.attname for field in model._meta.concrete_fields)


class Ids:
    """The next id of each table, from the first one the writer reserved: ids in generation order."""

    def __init__(self, first: dict[type[Model], int]):
        self.next = dict(first)

    def take(self, model: type[Model]) -> int:
        value = self.next[model]
        self.next[model] = value + 1
        return value

    def assign(self, records: list[Record]) -> None:
        if records:
            model = records[0].model
            value = self.next[model]
            for record in records:
                record.id = value
                value += 1
            self.next[model] = value
