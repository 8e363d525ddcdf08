"""A stand-in for WeChat's jscode2session: a real HTTP server on 127.0.0.1 that answers as WeChat does."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

APPID = "wx-test-appid"
SECRET = "wx-test-secret"

# The code the client sends decides the answer, so each test can pick WeChat's behaviour.
_ERRORS = {
    "invalid": {"errcode": 40029, "errmsg": "invalid code"},
    "used": {"errcode": 40163, "errmsg": "code been used"},
    "ratelimit": {"errcode": 45011, "errmsg": "api minute-quota reach limit"},
    "busy": {"errcode": -1, "errmsg": "system error"},
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        code = query.get("js_code", "")
        if url.path != "/sns/jscode2session":
            return self._send(404, b"not found")
        if (
            query.get("appid") != APPID
            or query.get("secret") != SECRET
            or query.get("grant_type") != "authorization_code"
        ):
            return self._json({"errcode": 40013, "errmsg": "invalid appid"})
        if code == "slow":
            time.sleep(1.5)
        if code == "http500":
            return self._send(500, b"<html>502 Bad Gateway</html>")
        if code == "garbage":
            return self._send(200, b"<html>not json</html>")
        if code in _ERRORS:
            return self._json(_ERRORS[code])
        if code.startswith("ok-"):
            return self._json({"openid": f"openid-{code[3:]}", "session_key": "c2Vzc2lvbi1rZXk="})
        return self._json({"errcode": 40029, "errmsg": "invalid code"})

    def _json(self, body: dict[str, object]) -> None:
        # WeChat labels its JSON text/plain.
        self._send(200, json.dumps(body).encode(), "text/plain")

    def _send(self, status: int, body: bytes, content_type: str = "text/html") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def running() -> Iterator[str]:
    """Serve on a free loopback port; yields the jscode2session URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sns/jscode2session"
    finally:
        server.shutdown()
        server.server_close()
