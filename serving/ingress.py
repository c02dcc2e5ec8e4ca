"""The replica's own HTTP listener: uvicorn (httptools) on the replica's event loop.

Serve's proxy is not on the request path: each replica binds ``host:port`` with
``SO_REUSEPORT`` (so replicas on one node, and an old and a new replica during a rolling
restart, share the port and the kernel spreads connections), and ``POST /v1/score/{strategy}``
is answered on a raw ASGI route; every other path goes to the FastAPI app.
"""

from __future__ import annotations

import asyncio
import logging
import socket

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from serving.endpoint import ScoringEndpoint
from serving.service import Reply, error

__all__ = ["Listener", "score_router"]

log = logging.getLogger("raydesk.serving")

_PREFIX = "/v1/score/"
_JSON = (b"content-type", b"application/json")


class _ClientGone(Exception):
    """The client disconnected before its body arrived."""


def score_router(endpoint: ScoringEndpoint, fallback: ASGIApp) -> ASGIApp:
    """An ASGI app answering ``POST /v1/score/{strategy}`` itself and the rest with ``fallback``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not path.startswith(_PREFIX)
            or "/" in path[len(_PREFIX) :]
            or len(path) == len(_PREFIX)
        ):
            await fallback(scope, receive, send)
            return
        authorization = length = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"content-length":
                length = value.decode("latin-1")

        async def read(limit: int) -> bytes:
            chunks: list[bytes] = []
            size = 0
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _ClientGone
                chunk: bytes = message.get("body", b"")
                chunks.append(chunk)
                size += len(chunk)
                if size > limit or not message.get("more_body", False):
                    return b"".join(chunks)

        try:
            reply = await endpoint.score_http(path[len(_PREFIX) :], authorization, length, read)
        except _ClientGone:
            return
        except Exception as exc:  # the error contract holds even for a bug: a JSON 500
            log.exception("scoring request failed")
            reply = error(500, "internal_error", f"internal error: {type(exc).__name__}")
        await _send(send, reply)

    return app


async def _send(send: Send, reply: Reply) -> None:
    body = reply.encode()
    headers = [_JSON, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Listener:
    """uvicorn serving ``app`` on ``host:port`` inside the running event loop."""

    def __init__(self, app: ASGIApp, host: str, port: int, keep_alive_s: int = 30) -> None:
        self.host = host
        self.port = port
        self._config = uvicorn.Config(
            app,
            host=host,
            port=port,
            http="httptools",
            ws="none",
            lifespan="off",
            interface="asgi3",
            access_log=False,
            log_config=None,
            proxy_headers=False,
            server_header=False,
            timeout_keep_alive=keep_alive_s,
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(self._config)
        self._socket: socket.socket | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Bind (raises ``OSError`` if the address is taken without ``SO_REUSEPORT``) and serve."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self._socket = sock
        self._config.load()
        # What ``Server.serve`` does, without its process-wide signal handlers (Ray owns those).
        self._server.lifespan = self._config.lifespan_class(self._config)
        await self._server.startup(sockets=[sock])
        self._task = asyncio.get_running_loop().create_task(self._server.main_loop())

    @property
    def alive(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        """Stop accepting, let requests in flight finish (up to 5 s), close the socket."""
        if self._task is None or self._socket is None:
            return
        self._server.should_exit = True
        await self._task
        await self._server.shutdown(sockets=[self._socket])
        self._task = None
