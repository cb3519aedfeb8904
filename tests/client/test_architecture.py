"""The client side stands alone: the SDK, the user CLI and the MCP server import nothing of
the server, and the SDK and CLI work where fastapi, sqlalchemy and pydantic are not installed
(the client-only install is httpx + typer + rich)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "timeledger"
CLIENT_SIDE = [SRC / "client", SRC / "cli" / "user", SRC / "mcp"]
# What the SDK itself may import: the standard library, httpx (and anyio, which httpx
# depends on), and itself.
SDK_THIRD_PARTY = {"httpx", "anyio"}


def imports(package: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in package.rglob("*.py"):
        names = found.setdefault(str(path.relative_to(SRC)), set())
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
    return found


@pytest.mark.parametrize("package", CLIENT_SIDE, ids=lambda p: str(p.relative_to(SRC)))
def test_client_side_never_imports_the_server(package):
    offending = {
        module: sorted(
            n for n in names if n.startswith(("timeledger.server", "timeledger.cli.operator"))
        )
        for module, names in imports(package).items()
    }
    assert {m: n for m, n in offending.items() if n} == {}


def test_the_sdk_needs_only_httpx():
    stdlib = sys.stdlib_module_names
    for module, names in imports(SRC / "client").items():
        outside = {
            name
            for name in names
            if name.split(".")[0] not in stdlib
            and name.split(".")[0] not in SDK_THIRD_PARTY
            and not name.startswith("timeledger.client")
            and name != "timeledger"
        }
        assert not outside, (module, outside)


BLOCK_SERVER = """
import sys
class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"fastapi", "sqlalchemy", "pydantic", "uvicorn", "alembic"}:
            raise ImportError(f"{name} is not installed", name=name)
sys.meta_path.insert(0, Absent())
import timeledger.client, timeledger.cli.main
from timeledger.client import Timeledger
assert not any(m.startswith("timeledger.server") for m in sys.modules), "server imported"
sys.argv = ["timeledger", "--help"]
timeledger.cli.main.app()
"""


def test_sdk_and_cli_work_without_the_server_packages():
    done = subprocess.run(
        [sys.executable, "-c", BLOCK_SERVER], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "start" in done.stdout and "report" in done.stdout
