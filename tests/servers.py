"""Real servers on loopback ports for tests: an HTTP server that records what it gets."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from tests.waiting import wait_for

PRESS = str(Path(sys.executable).parent / "press")


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` ports free now and distinct from each other (held together while they
    are chosen: one released at a time may be handed out again at once)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass
class Recorder:
    url: str
    requests: list[tuple[str, str, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def forms(self) -> list[dict[str, list[str]]]:
        with self.lock:
            return [urllib.parse.parse_qs(body.decode()) for _, _, body in self.requests]

    def form_values(self, key: str) -> list[str]:
        return [value for form in self.forms() for value in form.get(key, [])]

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()


@contextmanager
def recording_http_server(port: int = 0, status: int = 204) -> Iterator[Recorder]:
    """A real HTTP server on 127.0.0.1 that answers ``status`` and records each request."""
    recorder = Recorder(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            with recorder.lock:
                recorder.requests.append(("POST", self.path, body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}/hub"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def press_serve(
    project: Path, port: int, *options: str, key: str | None
) -> Iterator[subprocess.Popen[bytes]]:
    """``press serve`` on ``port`` in ``project`` (output in serve.log), with
    PRESS_SECRET_KEY set to ``key`` or unset; stopped with SIGTERM as systemd would."""
    environment = {k: v for k, v in os.environ.items() if k != "PRESS_SECRET_KEY"}
    if key is not None:
        environment["PRESS_SECRET_KEY"] = key
    log = (project / "serve.log").open("wb")
    process = subprocess.Popen(
        [PRESS, "serve", "--port", str(port), *options], cwd=project, stdout=log,
        stderr=subprocess.STDOUT, env=environment,
    )  # fmt: skip

    def answers() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(answers, 30)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


class CuttableProxy:
    """A TCP proxy on a loopback port to ``upstream`` (host, port) that a test can cut:
    while cut, every open connection is closed and new ones are closed as they come, as
    when a database server goes away; restored, it forwards again."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.cut_now = threading.Event()
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        self.cut_now.set()
        with self.lock:
            for sock in self.open:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.open.clear()

    def restore(self) -> None:
        self.cut_now.clear()

    def close(self) -> None:
        self.cut()
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut_now.is_set():
                client.close()
                continue
            server = socket.create_connection(self.upstream)
            with self.lock:
                self.open += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
