"""A fake vendor HTTP server on 127.0.0.1 with switchable failure modes."""
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# Drip rate for the adapter tests: faster than the read timeout below, so only the total deadline can stop it.
DRIP_INTERVAL = 0.3
HUGE_BYTES = 50 * 1024 * 1024
METADATA_URL = "http://169.254.169.254/latest/meta-data/"


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict = field(default_factory=dict)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict
    body: bytes


class FakeServer:
    """A vendor API double: routes by (method, path without query); a route can be switched to a failure mode.

    Modes: "hang" (accept, never answer), "drip" (one byte per DRIP_INTERVAL), "huge" / "huge_length"
    (a 50 MB body, streamed or announced by Content-Length), "redirect" (302 to the metadata address),
    "5xx" (503).
    """

    def __init__(self):
        self.routes: dict[tuple[str, str], callable] = {}
        self.modes: dict[str, str] = {}
        self.seen: list[Seen] = []
        self.stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = urlsplit(self.path).path
                server.seen.append(Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                                        body))
                mode = server.modes.get(path)
                if mode:
                    server.misbehave(self, mode)
                    return
                route = server.routes.get((self.command, path))
                reply = route(self.path, {k.lower(): v for k, v in self.headers.items()}, body) if route \
                    else Reply(404, b'{"error": "not found"}')
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = _serve

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def misbehave(self, handler, mode: str) -> None:
        try:
            if mode == "hang":
                self.stopping.wait(30)
            elif mode == "drip":
                handler.send_response(200)
                handler.send_header("Content-Length", "100000")
                handler.end_headers()
                while not self.stopping.is_set():
                    handler.wfile.write(b"x")
                    handler.wfile.flush()
                    time.sleep(DRIP_INTERVAL)
            elif mode == "huge_length":
                handler.send_response(200)
                handler.send_header("Content-Length", str(HUGE_BYTES))
                handler.end_headers()
                handler.wfile.write(b"[" * 65536)
            elif mode == "huge":
                handler.send_response(200)
                handler.end_headers()  # HTTP/1.0, no length: the body runs until the connection closes
                chunk = b" " * 65536
                for _ in range(HUGE_BYTES // len(chunk)):
                    handler.wfile.write(chunk)
            elif mode == "redirect":
                handler.send_response(302)
                handler.send_header("Location", METADATA_URL)
                handler.send_header("Content-Length", "0")
                handler.end_headers()
            elif mode == "5xx":
                body = b'{"error": "internal secret-ish detail"}'
                handler.send_response(503)
                handler.send_header("Content-Length", str(len(body)))
                handler.end_headers()
                handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}"

    def route(self, method: str, path: str, fn) -> None:
        self.routes[(method, path)] = fn

    def start(self) -> "FakeServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
