"""dunning.services.retry_failed_reminder and the reminder list's retry button."""

import pytest
from django.core.exceptions import PermissionDenied

from dunning.models import Reminder
from dunning.services import retry_failed_reminder
from tests.factories import ReminderFactory

pytestmark = pytest.mark.django_db


def test_only_a_failed_reminder_is_retried(credit_manager):
    sent = ReminderFactory(status="sent")
    assert retry_failed_reminder(reminder=sent, actor=credit_manager) is False
    assert Reminder.objects.get(pk=sent.pk).status == "sent"


def test_a_collector_may_not_retry(collector):
    with pytest.raises(PermissionDenied):
        retry_failed_reminder(reminder=ReminderFactory(status="failed"), actor=collector)
