"""A fault-injecting HTTP/1.1 proxy on 127.0.0.1, in front of the live server.

Each request takes the next planned fault for its method and path (if any):
- DROP:  close the connection without answering; the request never reaches the server.
- HANG:  answer nothing until the client gives up.
- a status (e.g. Status(503, {"Retry-After": "0"})): answer it without forwarding.
- AFTER(502): forward to the server (which applies the request), then answer 502 instead of
  the server's answer, as a proxy losing the response would.
Everything else is forwarded. `seen` records every request that arrived, faulted or not.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

DROP = "drop"
HANG = "hang"


@dataclass(frozen=True)
class Status:
    code: int
    headers: dict[str, str] = field(default_factory=dict)
    forward_first: bool = False


def AFTER(code: int) -> Status:
    return Status(code, forward_first=True)


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    fault: object


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.port = 0
        self.seen: list[Seen] = []
        self._plans: list[tuple[str, str, list[object]]] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def plan(self, method: str, path: str, *faults: object) -> None:
        """The next requests of `method` whose path starts with `path` get `faults`, in order."""
        with self._lock:
            self._plans.append((method, path, list(faults)))

    def reset(self) -> None:
        with self._lock:
            self._plans.clear()
            self.seen.clear()

    def _fault_for(self, method: str, path: str) -> object:
        with self._lock:
            for plan_method, prefix, faults in self._plans:
                if plan_method == method and path.startswith(prefix) and faults:
                    return faults.pop(0)
        return None

    # --- the server ---------------------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        self._client = httpx.AsyncClient(base_url=self.upstream, timeout=30)
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    if line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                fault = self._fault_for(method, target)
                self.seen.append(Seen(method, target.split("?")[0], headers, fault))
                if fault == DROP:
                    break
                if fault == HANG:
                    await reader.read()  # until the client gives up and hangs up
                    break
                if isinstance(fault, Status) and not fault.forward_first:
                    await self._answer(writer, fault.code, fault.headers, b'{"error": "fault"}')
                    continue
                forwarded = {
                    k: v for k, v in headers.items() if k not in ("host", "content-length")
                }
                response = await self._client.request(
                    method, target, headers=forwarded, content=body
                )
                if isinstance(fault, Status):
                    await self._answer(writer, fault.code, fault.headers, b'{"error": "fault"}')
                    continue
                await self._answer(
                    writer, response.status_code, dict(response.headers), response.content
                )
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    @staticmethod
    async def _answer(
        writer: asyncio.StreamWriter, status: int, headers: dict[str, str], body: bytes
    ) -> None:
        skip = {"content-length", "transfer-encoding", "connection", "content-encoding"}
        lines = [f"HTTP/1.1 {status} X"]
        lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() not in skip]
        lines += [f"content-length: {len(body)}", "", ""]
        writer.write("\r\n".join(lines).encode("latin-1") + body)
        await writer.drain()

    @contextmanager
    def running(self) -> Iterator[FaultProxy]:
        self._thread.start()
        self._ready.wait(10)
        try:
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()

    async def _stop(self) -> None:
        self._server.close()
        connections = asyncio.all_tasks() - {asyncio.current_task()}
        for task in connections:
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)
        await self._client.aclose()
