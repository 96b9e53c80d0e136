"""The ASGI application: REST API v1 under /api/v1/, OpenAPI and interactive docs."""

from __future__ import annotations

from fastapi import FastAPI

from .. import __version__
from .context import ApiContext
from .errors import install_error_handlers

API_PREFIX = "/api/v1"


def create_app(ctx: ApiContext) -> FastAPI:
    app = FastAPI(
        title="EsoCore Edge REST API",
        version=__version__,
        description=(
            "Condition-monitoring data of the machines this device watches. Every endpoint "
            "except this document needs an API key in the `X-API-Key` header."
        ),
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.ctx = ctx
    install_error_handlers(app)
    from . import routes

    for router in routes.ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    for router in routes.ROOT_ROUTERS:
        app.include_router(router)
    return app
