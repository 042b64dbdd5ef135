"""The test run itself refuses connections that would leave the machine."""

import socket

import pytest

from tests.offline_guard import NetworkBlocked


def test_a_public_address_is_refused():
    with socket.socket() as s, pytest.raises(NetworkBlocked):
        s.connect(("192.0.2.10", 443))


def test_a_host_name_lookup_is_refused():
    with pytest.raises(NetworkBlocked):
        socket.getaddrinfo("pypi.org", 443)


def test_loopback_is_allowed():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=2):
            pass


def test_the_tldextract_and_hub_style_downloads_would_fail_loudly():
    import urllib.request

    with pytest.raises(Exception) as raised:
        urllib.request.urlopen("https://publicsuffix.org/list/public_suffix_list.dat", timeout=2)
    assert "non-loopback" in str(raised.value) or isinstance(raised.value.__cause__ or raised.value, OSError)
