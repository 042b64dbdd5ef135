"""The test run itself refuses connections that would leave the machine."""

import socket

import pytest

from tests.offline_guard import NetworkBlocked, expected_blocks


def test_a_public_address_is_refused():
    with expected_blocks(), socket.socket() as s, pytest.raises(NetworkBlocked):
        s.connect(("192.0.2.10", 443))


def test_a_host_name_lookup_is_refused():
    with expected_blocks(), pytest.raises(NetworkBlocked):
        socket.getaddrinfo("pypi.org", 443)


def test_loopback_is_allowed():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=2):
            pass


def test_the_tldextract_and_hub_style_downloads_would_fail_loudly():
    import urllib.request

    with expected_blocks(), pytest.raises(Exception) as raised:
        urllib.request.urlopen("https://publicsuffix.org/list/public_suffix_list.dat", timeout=2)
    assert "non-loopback" in str(raised.value)


def test_an_attempt_is_logged_for_the_session_check(tmp_path):
    import socket as sockets

    from tests import offline_guard

    log = tmp_path / "offline.log"
    offline_guard.install(log_path=str(log))
    try:
        with sockets.socket() as s, pytest.raises(NetworkBlocked):
            s.connect(("203.0.113.5", 80))
        assert "203.0.113.5" in log.read_text()
    finally:
        from tests.conftest import OFFLINE_LOG

        offline_guard.install(log_path=str(OFFLINE_LOG))
