"""Servers on 127.0.0.1 for tests of the guarded outbound client (``core.outbound``): a bare
listener that counts the connections it was offered, and an HTTP server whose paths misbehave
(redirect, drip, oversize). No test of the guard sends traffic anywhere else."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Listener:
    """A TCP port nobody answers on; ``connections()`` counts the connections made to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self._count = 0

    def connections(self) -> int:
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return self._count
            conn.close()
            self._count += 1

    def close(self) -> None:
        self.sock.close()


class MisbehavingServer:
    """``/ok`` answers; ``/redirect`` sends the client to ``redirect_to``; ``/drip`` sends its
    body one byte every half second; ``/big`` sends 5000 bytes without a Content-Length;
    anything else is the metadata in ``documents``."""

    def __init__(self) -> None:
        self.redirect_to = ""
        self.documents: dict[str, bytes] = {}
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.hits.append(self.path)
                with contextlib.suppress(OSError):  # the client hung up, as on a drip
                    self._answer()

            def _answer(self) -> None:
                if self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", server.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif self.path == "/drip":
                    self.send_response(200)
                    self.send_header("Content-Length", "40")
                    self.end_headers()
                    for _ in range(40):
                        self.wfile.write(b"x")
                        self.wfile.flush()
                        time.sleep(0.5)
                elif self.path == "/big":
                    self.send_response(200)
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(b"y" * 5000)
                    self.close_connection = True
                else:
                    body = server.documents.get(self.path, b"hello")
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
