"""PDF letters are never served from /media/, only through the letter view that checks role and portfolio."""

import importlib

import pytest
from django.core.files.base import ContentFile
from django.urls import clear_url_caches, reverse

from tests.factories import CustomerFactory, ReminderFactory, UserFactory

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4 a letter to a customer\n%%EOF\n"


@pytest.fixture
def urls_built_with_debug_on(settings, tmp_path):
    """The URLconf as `make run` builds it: DEBUG on when creditdesk/urls.py is imported."""
    import creditdesk.urls

    settings.MEDIA_ROOT = tmp_path
    settings.DEBUG = True
    importlib.reload(creditdesk.urls)
    clear_url_caches()
    yield
    settings.DEBUG = False
    importlib.reload(creditdesk.urls)
    clear_url_caches()


@pytest.fixture
def stored_letter(urls_built_with_debug_on):
    collector = UserFactory(username="col", role="collector")
    reminder = ReminderFactory(customer=CustomerFactory(collector=collector), step__channel="letter")
    reminder.letter_pdf.save(f"reminder-{reminder.pk}.pdf", ContentFile(PDF))
    return reminder


def test_an_anonymous_request_for_a_letters_media_url_gets_no_pdf(client, stored_letter):
    response = client.get(stored_letter.letter_pdf.url)

    assert response.status_code == 404
    assert PDF not in b"".join(getattr(response, "streaming_content", [response.content]))


def test_the_letter_comes_through_the_checked_view_only_for_its_portfolio(client, stored_letter):
    url = reverse("dunning:letter-pdf", args=[stored_letter.pk])
    assert client.get(url).status_code == 302  # anonymous: to the login page

    client.force_login(UserFactory(username="col2", role="collector"))
    assert client.get(url).status_code == 404  # another portfolio's letter

    client.force_login(stored_letter.customer.collector)
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
