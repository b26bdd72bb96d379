"""PostgreSQL restarted under a running app (gunicorn, persistent connections, 4 threads).

Requests that reach the database while it is down get a clean 503 with Retry-After (JSON under
/api/, an HTML page for the browser), never a 500 or a traceback; once it is back, the very next
requests succeed, with no restart of the app, even on threads whose connection died while idle.
"""

import threading
import time

import pytest
import requests

from tests.integration.conftest import ServedApp, browser_session

pytestmark = pytest.mark.integration

API = "/api/v1/customers/"
PAGE = "/"


@pytest.fixture(scope="module")
def served(app_database, tmp_path_factory):
    app = ServedApp({"DATABASE_URL": app_database.url, "REDIS_URL": ""}, tmp_path_factory.mktemp("pg-app"))
    yield app
    app.stop()


@pytest.fixture(scope="module")
def clients(served, app_database):
    username, password, token = app_database.credentials
    api = requests.Session()
    api.headers["Authorization"] = f"Token {token}"
    return api, browser_session(served, username, password)


def get(session, served, path):
    return session.get(served.base_url + path, timeout=20, allow_redirects=False)


def warm_every_thread(served, clients):
    """Enough parallel requests that each of gunicorn's threads holds a database connection."""
    api, _ = clients
    threads = [threading.Thread(target=get, args=(api, served, API)) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def assert_clean_503(response, *, json: bool):
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert int(response.headers["Retry-After"]) > 0
    assert "Traceback" not in response.text
    if json:
        assert response.headers["Content-Type"].startswith("application/json")
        assert "database" in response.json()["detail"].lower()
    else:
        assert response.headers["Content-Type"].startswith("text/html")
        assert "try again" in response.text.lower()


def test_requests_while_postgres_is_down_get_a_clean_503_and_succeed_once_it_is_back(
    served, clients, app_database
):
    api, browser = clients
    assert get(api, served, API).status_code == 200
    assert get(browser, served, PAGE).status_code == 200

    answers: list[requests.Response] = []
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            for session, path in ((api, API), (browser, PAGE)):
                answers.append(get(session, served, path))

    workers = [threading.Thread(target=hammer) for _ in range(3)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(0.5)
        app_database.stop("fast")  # drops every connection in use
        try:
            down = [get(api, served, API), get(browser, served, PAGE)]
            time.sleep(0.5)
        finally:
            app_database.start()
        time.sleep(0.5)
    finally:
        stop.set()
        for worker in workers:
            worker.join()

    assert_clean_503(down[0], json=True)
    assert_clean_503(down[1], json=False)

    statuses = {answer.status_code for answer in answers}
    assert statuses <= {200, 503}, (statuses, served.log()[-3000:])
    assert 503 in statuses
    for answer in answers:
        if answer.status_code == 503:
            assert_clean_503(answer, json=answer.url.endswith(API))
    for _ in range(8):  # the next requests, on every thread, succeed
        assert get(api, served, API).status_code == 200
        assert get(browser, served, PAGE).status_code == 200


def test_connections_idle_across_a_restart_are_replaced_without_an_error(served, clients, app_database):
    api, browser = clients
    warm_every_thread(served, clients)
    app_database.stop("fast")
    app_database.start()  # no request ran meanwhile: every thread still holds a dead connection
    statuses = [get(api, served, API).status_code for _ in range(8)]
    statuses += [get(browser, served, PAGE).status_code for _ in range(8)]
    assert statuses == [200] * 16, served.log()[-3000:]
