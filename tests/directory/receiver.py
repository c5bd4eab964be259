"""A real webhook receiver on 127.0.0.1: verifies Standard Webhooks signatures with the
``standardwebhooks`` package, and answers as a test tells it to (200, 500, or hang)."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

# The Fernet key webhook secrets are encrypted with, in the tests and the worker they start.
WEBHOOK_SECRET_KEY = "dGVzdC13ZWJob29rLXNlY3JldHMta2V5LTMyYnl0ZXM="


@dataclass
class Receiver:
    secret: str = ""
    received: list[dict] = field(default_factory=list)  # verified payloads, in arrival order
    rejected: list[str] = field(default_factory=list)  # why a signature did not verify
    headers: list[dict] = field(default_factory=list)
    script: deque = field(default_factory=deque)  # answers to give first: 500, "hang", ...
    hang_seconds: float = 5.0
    hold_seconds: float = 0.0  # how long every request is held before it is answered
    url: str = ""
    port: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver._lock:
                    answer = receiver.script.popleft() if receiver.script else 200
                    receiver.in_flight += 1
                    receiver.max_in_flight = max(receiver.max_in_flight, receiver.in_flight)
                try:
                    status = self._judge(body, answer)
                finally:
                    # Before the answer is written: a sender waiting for it cannot send its next
                    # request while this one still counts as in flight.
                    with receiver._lock:
                        receiver.in_flight -= 1
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def _judge(self, body: bytes, answer: object) -> int:
                time.sleep(receiver.hold_seconds)
                if answer == "hang":
                    time.sleep(receiver.hang_seconds)
                    answer = 200
                if answer == 200:
                    try:
                        payload = Webhook(receiver.secret).verify(body, dict(self.headers))
                    except WebhookVerificationError as exc:
                        receiver.rejected.append(str(exc))
                        answer = 401
                    else:
                        with receiver._lock:
                            receiver.received.append(payload)
                            receiver.headers.append(dict(self.headers))
                return answer

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def ids(self) -> list[str]:
        return [payload["id"] for payload in self.received]

    def types(self) -> list[str]:
        return [payload["type"] for payload in self.received]

    def positions(self) -> list[int]:
        return [payload["position"] for payload in self.received]

    def wait_for(self, count: int, timeout: float = 30) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received
