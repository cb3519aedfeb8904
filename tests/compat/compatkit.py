"""Helpers for the compatibility-surface tests: the `curl` examples and code snippets of the
reference documents, read from the documents themselves at test time, and the live server
that the real `curl` binary talks to."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from starlette.testclient import TestClient

REFERENCE = Path("/work/shared/reference")
if not REFERENCE.is_dir():  # the documents also ship beside the repository
    REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"
HOST = "127.0.0.1"
V2 = "/api/v2"


def document(name: str) -> str:
    return (REFERENCE / name).read_text()


# --- curl examples ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Curl:
    """One `curl` example as the document writes it: its arguments, split as a shell would."""

    text: str
    argv: list[str]

    def option(self, *names: str) -> list[str]:
        values = []
        for i, arg in enumerate(self.argv[:-1]):
            if arg in names:
                values.append(self.argv[i + 1])
        return values

    @property
    def url(self) -> str:
        urls = [a for a in self.argv if a.startswith("http")]
        assert len(urls) == 1, self.argv
        return urls[0]

    @property
    def method(self) -> str:
        given = self.option("-X", "--request")
        return given[0] if given else ("POST" if self.option("-d", "--data") else "GET")

    @property
    def path(self) -> str:
        return "/" + self.url.split("://", 1)[1].split("/", 1)[1]

    @property
    def data(self) -> Any:
        bodies = self.option("-d", "--data")
        return json.loads(bodies[0]) if bodies else None


def curl_examples(markdown: str) -> list[Curl]:
    """Every `curl ...` command in the text. A command runs to the end of its last line
    (lines ending in a backslash continue it) or, as where a rendered page glues the next
    sentence onto a closing quote, to the quote that closes its last argument."""
    commands = []
    for start in (m.start() for m in re.finditer(r"(?m)(?<![\w-])curl ", markdown)):
        quote, i = None, start
        while i < len(markdown):
            char = markdown[i]
            if quote:
                if char == quote:
                    quote = None
                    if i + 1 < len(markdown) and not markdown[i + 1].isspace():
                        i += 1
                        break
            elif char in "'\"":
                quote = char
            elif char == "\n" and markdown[i - 1] != "\\":
                break
            i += 1
        text = markdown[start:i]
        commands.append(Curl(text, shlex.split(text.replace("\\\n", " "))))
    return commands


def run_curl(example: Curl, base_url: str, replace: dict[str, str]) -> tuple[int, Any]:
    """Run the example with the real curl binary: the document's host is swapped for
    `base_url` and each `replace` key (placeholder keys and ids) for its value; nothing else
    changes. Returns the status and the parsed JSON body (None when empty)."""
    argv = []
    for arg in example.argv:
        if arg.startswith("http"):
            scheme_host = re.match(r"https?://[^/]+", arg)
            assert scheme_host is not None
            arg = base_url + arg[scheme_host.end() :]
        for old, new in replace.items():
            arg = arg.replace(old, new)
        argv.append(arg)
    curl = shutil.which("curl")
    assert curl is not None, "the curl binary is needed"
    done = subprocess.run(
        [curl, *argv[1:], "--silent", "--show-error", "--write-out", "\n%{http_code}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    body, _, status = done.stdout.rpartition("\n")
    return int(status), json.loads(body) if body.strip() else None


# --- other snippets ---------------------------------------------------------------------------


def snippet(markdown: str, starts: str, ends: str) -> str:
    """The text from the line starting with `starts` through the first later line equal to
    `ends` (e.g. a function's closing brace)."""
    lines = markdown.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(starts))
    last = next(i for i in range(first, len(lines)) if lines[i] == ends)
    return "\n".join(lines[first : last + 1]) + "\n"


def node_verify(function_source: str, payload: bytes, signature: str, secret: str) -> bool:
    """Call the document's verifyWebhookSignature(payload, signature, secret) with Node.js."""
    script = function_source + (
        "const [payload, signature, secret] = JSON.parse(require('fs').readFileSync(0));\n"
        "let ok;\n"
        "try { ok = verifyWebhookSignature(payload, signature, secret); } catch { ok = false; }\n"
        "process.stdout.write(String(ok));\n"
    )
    node = shutil.which("node")
    assert node is not None, "node is needed to run the document's verification function"
    done = subprocess.run(
        [node, "-e", script],
        input=json.dumps([payload.decode(), signature, secret]),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert done.stdout in ("true", "false"), done.stderr
    return done.stdout == "true"


# --- a live server ----------------------------------------------------------------------------


class LiveServer:
    """The app under uvicorn on 127.0.0.1, on a thread of its own."""

    def __init__(self, app: Any, port: int) -> None:
        config = uvicorn.Config(
            app, host=HOST, port=port, log_config=None, log_level="error", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.url = f"http://{HOST}:{port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        started = threading.Event()
        for _ in range(500):
            if self.server.started:
                started.set()
                break
            started.wait(0.02)
        assert started.is_set(), "the server did not start"
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


# --- setup through the native API -------------------------------------------------------------


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


@dataclass(frozen=True)
class Work:
    project_id: str
    task_id: str


def make_work(api: TestClient, name: str = "Support", code: str | None = None) -> Work:
    """A project (with `code`, if given) and one task assigned to it."""
    body: dict[str, Any] = {"name": name}
    if code is not None:
        body["code"] = code
    project = ok(api.post(f"{V2}/projects", json=body), 201)
    task = ok(api.post(f"{V2}/tasks", json={"name": f"{name} work"}), 201)
    ok(
        api.post(f"{V2}/projects/{project['id']}/task_assignments", json={"task_id": task["id"]}),
        201,
    )
    return Work(project["id"], task["id"])


def running_on_v2(api: TestClient) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = ok(api.get(f"{V2}/time_entries", params={"is_running": True}))[
        "time_entries"
    ]
    return entries
