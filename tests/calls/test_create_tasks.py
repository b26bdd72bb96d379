"""Tasks created many at once (the daily run's tasks about broken agreements): a key used before, or
twice in the list, gives the first task, never a twin; the worklist standings follow."""

import datetime as dt

import pytest

from calls.models import Standing, Task
from calls.services import NewTask, create_task, create_tasks
from customers.access import SYSTEM
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 24)


def test_a_key_used_before_or_twice_in_the_list_gives_the_first_task():
    first, second = CustomerFactory(), CustomerFactory()
    earlier = create_task(
        customer=first, kind="call", reason="Earlier", due_on=DAY, actor=SYSTEM, dedupe_key="k1"
    )
    made = create_tasks(
        tasks=[
            NewTask(customer=first, kind="call", reason="Again", due_on=DAY, dedupe_key="k1"),
            NewTask(customer=second, kind="call", reason="New", due_on=DAY, dedupe_key="k2"),
            NewTask(customer=second, kind="call", reason="Twice", due_on=DAY, dedupe_key="k2"),
            NewTask(customer=second, kind="call", reason="Unkeyed", due_on=DAY),
        ],
        actor=SYSTEM,
    )
    assert [task.pk is not None for task in made] == [True] * 4
    assert made[0] == earlier and made[1] == made[2] and made[1].reason == "New"
    assert Task.objects.count() == 3
    assert Task.objects.get(dedupe_key="k2").customer == second


def test_the_customers_worklist_standing_follows_the_new_tasks(settings):
    customers = CustomerFactory.create_batch(3)
    create_tasks(
        tasks=[NewTask(customer=c, kind="call", reason="Call", due_on=DAY) for c in customers], actor=SYSTEM
    )
    standings = Standing.objects.filter(customer__in=customers)
    assert sorted(s.first_open_task_on for s in standings) == [DAY] * 3
