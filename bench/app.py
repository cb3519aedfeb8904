"""The app under test: the real server (settings from TIMELEDGER_* variables) plus a bare
async /hello route, so the cost of the framework alone is measured in the same process.

    uvicorn bench.app:create_bench_app --factory
"""

from __future__ import annotations

from fastapi import FastAPI

from timeledger.server.app import create_app


def create_bench_app() -> FastAPI:
    app = create_app()

    @app.get("/hello", include_in_schema=False)
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    return app
