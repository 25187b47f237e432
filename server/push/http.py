"""A small HTTP/1.1 client for push services: one POST at a time over a kept-alive connection.

Push services answer with a status line and a few headers. http.client parses every answer's
headers with the email package and builds requests header by header, which together cost more
CPU per message than the encryption; this client writes each request in one call and reads the
answer with a buffered reader kept for the life of the connection. It is strict: an answer it
cannot frame exactly (length, chunks, or read-until-close) closes the connection.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass

MAX_LINE = 8 * 1024
MAX_HEADERS = 100


class ProtocolError(OSError):
    """The push service's answer was not HTTP/1.x we can read."""


class StaleConnection(ConnectionError):
    """A kept-alive connection was closed by the other side before it answered."""


@dataclass(frozen=True)
class Response:
    status: int
    reason: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    keep_alive: bool


class Connection:
    """One TCP (and TLS) connection; used by one thread at a time."""

    def __init__(self, host: str, port: int, timeout: float, tls: ssl.SSLContext | None):
        sock = socket.create_connection((host, port), timeout=timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if tls is not None:
                sock = tls.wrap_socket(sock, server_hostname=host)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        self.reader = sock.makefile("rb")
        self.used = self.reused = False

    def settimeout(self, seconds: float) -> None:
        self.sock.settimeout(seconds)

    def send(self, request: bytes) -> None:
        """Write one request. On a reused connection the other side may have closed it:
        StaleConnection then (nothing reached the service; safe to try again)."""
        self.reused, self.used = self.used, True
        try:
            self.sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError) as error:
            raise self._lost(error) from error

    def receive(self, max_body: int) -> Response:
        try:
            return read_response(self.reader, max_body)
        except (ConnectionResetError, StaleConnection) as error:
            raise self._lost(error) from error

    def _lost(self, error: Exception) -> Exception:
        if self.reused:
            return StaleConnection(str(error))
        return ConnectionError(f"connection lost: {error}")

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def _line(reader) -> bytes:
    line = reader.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise ProtocolError("header line too long")
    return line


def read_response(reader, max_body: int) -> Response:
    while True:
        line = _line(reader)
        if not line:
            raise StaleConnection("closed without an answer")
        version, _, rest = line.decode("latin-1").rstrip("\r\n").partition(" ")
        code, _, reason = rest.partition(" ")
        if version not in ("HTTP/1.1", "HTTP/1.0") or len(code) != 3 or not code.isdigit():
            raise ProtocolError(f"not an HTTP/1.x status line: {line[:60]!r}")
        status = int(code)
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADERS):
            field = _line(reader)
            if field in (b"\r\n", b"\n"):
                break
            if not field:
                raise ProtocolError("connection closed inside the headers")
            name, colon, value = field.decode("latin-1").partition(":")
            if not colon:
                raise ProtocolError(f"bad header line: {field[:60]!r}")
            headers[name.strip().lower()] = value.strip()
        else:
            raise ProtocolError("too many header lines")
        # 1xx are interim answers (we never send Expect: 100-continue, but a server may).
        if not 100 <= status < 200:
            break
    keep_alive = version == "HTTP/1.1" and "close" not in headers.get("connection", "").lower()
    if status in (204, 304):
        body = b""
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        body, complete = _read_chunked(reader, max_body)
        keep_alive = keep_alive and complete
    elif "content-length" in headers:
        length = headers["content-length"]
        if not length.isdigit():
            raise ProtocolError(f"bad Content-Length {length!r}")
        length = int(length)
        body = reader.read(min(length, max_body))
        if len(body) < min(length, max_body):
            raise ProtocolError("connection closed inside the body")
        keep_alive = keep_alive and length <= max_body
    else:
        # No length: the body runs until the server closes the connection.
        body = reader.read(max_body)
        keep_alive = False
    return Response(status, reason, headers, body, keep_alive)


def _read_chunked(reader, max_body: int) -> tuple[bytes, bool]:
    """The chunked body, or its first max_body bytes (then the connection cannot be reused)."""
    parts, size_read = [], 0
    while True:
        size_line = _line(reader).split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise ProtocolError(f"bad chunk size {size_line[:20]!r}") from None
        if size == 0:
            while _line(reader) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(parts), True
        if size_read + size > max_body:
            parts.append(reader.read(max_body - size_read))
            return b"".join(parts), False
        chunk = reader.read(size)
        if len(chunk) < size or _line(reader) not in (b"\r\n", b"\n"):
            raise ProtocolError("connection closed inside a chunk")
        parts.append(chunk)
        size_read += size
