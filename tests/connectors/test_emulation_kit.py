"""The emulator kit's fault switches, over real HTTP on loopback."""

import pytest
import requests

from connectors.base import rebase_url
from connectors.emulation import Emulator, Response, route, serve


class EchoEmulator(Emulator):
    def __init__(self):
        super().__init__()
        self.writes = 0

    @route("GET", "/things/(?P<thing>[a-z]+)")
    def get_thing(self, request):
        return Response.json({"thing": request.args["thing"], "q": request.params})

    @route("POST", "/things")
    def create_thing(self, request):
        self.writes += 1
        return Response.json({"created": self.writes}, 201)


@pytest.fixture
def echo():
    app = EchoEmulator()
    server = serve(app)
    yield app
    server.stop()


def test_routes_answer_with_path_arguments_and_query(echo):
    body = requests.get(f"{echo.public_url}/things/apple?colour=red", timeout=5).json()
    assert body == {"thing": "apple", "q": {"colour": "red"}}


def test_unknown_path_is_404_and_wrong_method_is_405(echo):
    assert requests.get(f"{echo.public_url}/nowhere", timeout=5).status_code == 404
    assert requests.delete(f"{echo.public_url}/things", timeout=5).status_code == 405


def test_fail_next_fails_only_the_next_matching_request(echo):
    echo.fail_next(503, match="/things/pear")
    assert requests.get(f"{echo.public_url}/things/apple", timeout=5).status_code == 200
    assert requests.get(f"{echo.public_url}/things/pear", timeout=5).status_code == 503
    assert requests.get(f"{echo.public_url}/things/pear", timeout=5).status_code == 200


def test_lost_response_still_performs_the_write(echo):
    echo.lose_next_response()
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{echo.public_url}/things", timeout=5)
    assert echo.writes == 1
    assert echo.faults_injected["lose_response"] == 1


def test_malformed_body_is_not_json(echo):
    echo.malform_next()
    response = requests.get(f"{echo.public_url}/things/apple", timeout=5)
    with pytest.raises(ValueError):
        response.json()


def test_rate_limit_next_answers_429_with_retry_after(echo):
    echo.rate_limit_next(retry_after=7)
    response = requests.get(f"{echo.public_url}/things/apple", timeout=5)
    assert (response.status_code, response.headers["Retry-After"]) == (429, "7")


def test_calls_count_requests_by_method_and_path(echo):
    requests.get(f"{echo.public_url}/things/apple", timeout=5)
    requests.get(f"{echo.public_url}/things/pear", timeout=5)
    requests.post(f"{echo.public_url}/things", timeout=5)
    assert echo.calls("GET", "/things/") == 2
    assert echo.calls("POST") == 1


def test_rebase_url_keeps_the_path_and_swaps_the_origin():
    assert (
        rebase_url("https://identity.xero.com/connect/token", "http://127.0.0.1:9000")
        == "http://127.0.0.1:9000/connect/token"
    )
    assert rebase_url("https://api.xero.com/x", "") == "https://api.xero.com/x"
