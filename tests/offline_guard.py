"""Blocks every socket connection that is not to the loopback interface or a Unix socket."""

import contextlib
import ipaddress
import socket

_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex
_original_sendto = socket.socket.sendto
_original_getaddrinfo = socket.getaddrinfo


class NetworkBlocked(OSError):
    pass


class _State:
    expecting = False  # set by the guard's own tests, whose refused attempts are the point


@contextlib.contextmanager
def expected_blocks():
    _State.expecting = True
    try:
        yield
    finally:
        _State.expecting = False


def _is_local(address) -> bool:
    if isinstance(address, (str, bytes)):
        return True  # AF_UNIX path
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name that is not localhost would need DNS: refuse


def install(log_path: str | None = None) -> None:
    def _check(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
            if log_path and not _State.expecting:
                with open(log_path, "a") as log:
                    log.write(f"blocked connection to {address!r}\n")
            raise NetworkBlocked(f"Test run refused a non-loopback connection to {address!r}")

    def connect(sock, address):
        _check(sock, address)
        return _original_connect(sock, address)

    def connect_ex(sock, address):
        _check(sock, address)
        return _original_connect_ex(sock, address)

    def sendto(sock, data, *args):
        _check(sock, args[-1])
        return _original_sendto(sock, data, *args)

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and not _is_local((name, 0)):
            _check(socket.socket(socket.AF_INET, socket.SOCK_DGRAM), (name, 0))
        return _original_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.socket.sendto = sendto
    socket.getaddrinfo = getaddrinfo
