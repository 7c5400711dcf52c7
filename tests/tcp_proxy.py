"""A TCP proxy on 127.0.0.1 in front of a real server, to take it away from a running service:
`refuse()` (nothing listens: connections refused), `freeze()` (connections accepted, nothing
forwarded either way: a server that hangs), `forward()` (back to normal)."""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tests.process import free_port


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.port = free_port()
        self._target = (target_host, target_port)
        self._mode = "forward"
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._stopped = False
        self._listen()

    def refuse(self) -> None:
        with self._lock:
            self._mode = "refuse"
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        self._drop_connections()

    def freeze(self) -> None:
        with self._lock:
            self._mode = "freeze"

    def forward(self) -> None:
        with self._lock:
            was, self._mode = self._mode, "forward"
        if was == "freeze":
            self._drop_connections()  # what they had in flight is lost, as after a network split
        if self._listener is None:
            self._listen()

    def close(self) -> None:
        self._stopped = True
        self.refuse()

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.settimeout(0.05)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            self._track(client)
            if self._mode == "freeze":
                continue  # accepted, never answered
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                self._close(client)
                continue
            upstream.settimeout(None)
            self._track(upstream)
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                while self._mode == "freeze" and not self._stopped:
                    time.sleep(0.02)  # held, like a network that drops every packet
                if not data:
                    break
                target.sendall(data)
        except OSError:
            pass
        self._close(source)
        self._close(target)

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _close(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    def _drop_connections(self) -> None:
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            self._close(sock)


@contextmanager
def tcp_proxy(host: str, port: int) -> Iterator[TcpProxy]:
    proxy = TcpProxy(host, port)
    try:
        yield proxy
    finally:
        proxy.close()
