"""The OpenAPI document (YAML unless JSON is asked for) and its interactive explorer."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response


def document(app: FastAPI, prefix: str) -> dict[str, Any]:
    """The app's OpenAPI 3 document, with its bearer-key authentication declared."""
    if app.openapi_schema is None:
        doc = app.openapi()
        doc["servers"] = [{"url": prefix}]
        # Every router declares the surface's errors (wire.ERROR_RESPONSES), its 422 too, so
        # FastAPI adds no 422 of its own validation error, which this surface never sends.
        doc.setdefault("components", {})["securitySchemes"] = {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "Authorization: Bearer <API key>",
            }
        }
        doc["security"] = [{"bearerAuth": []}]
        app.openapi_schema = doc
    return app.openapi_schema


def router(app: FastAPI, prefix: str) -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    @routes.get("/openapi.json")
    async def openapi(
        request: Request,
        format: Annotated[Literal["json", "yaml"] | None, Query()] = None,
    ) -> Response:
        doc = document(app, prefix)
        wants_json = format == "json" or (
            format is None and "application/json" in request.headers.get("accept", "")
        )
        if wants_json:
            return JSONResponse(doc)
        import yaml  # on the first request for it: most servers never hold it (1 MiB)

        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
        return Response(text, media_type="application/yaml")

    @routes.get("/docs/")
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=f"{prefix}/openapi.json?format=json", title=f"{app.title} explorer"
        )

    return routes
