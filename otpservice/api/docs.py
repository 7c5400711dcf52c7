"""GET /openapi.json and GET /docs: the API document and Swagger UI to read it in a browser.

Swagger UI's files come from the `swagger-ui-bundle-v2` package (installed with otpservice)
and are served from here: the page loads nothing from any other host (its CSP says so too).
With DOCS_ENABLED=false, /docs answers 404 and /openapi.json needs an API key like any route.
"""

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route
from swagger_ui_bundle import swagger_ui_path

from otpservice.api.openapi import openapi_json
from otpservice.api.routing import Answer, ApiRoute, mount
from otpservice.errors import NotFound

ASSETS = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "text/javascript", "favicon-32x32.png": "image/png"}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>otpservice API</title>
  <link rel="icon" type="image/png" href="docs/favicon-32x32.png">
  <link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/swagger-ui-bundle.js"></script>
  <script src="docs/init.js"></script>
</body>
</html>
"""
# validatorUrl null: Swagger UI would otherwise send the document to an online validator.
INIT = """window.ui = SwaggerUIBundle({
  url: "openapi.json", dom_id: "#swagger-ui", validatorUrl: null, deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout", persistAuthorization: false
});
"""


class OpenApiDocument(BaseModel):
    model_config = ConfigDict(extra="allow")

    openapi: str
    info: dict[str, object]
    paths: dict[str, object]


def _ensure_enabled(request: Request) -> None:
    if not request.app.state.settings.docs_enabled:
        raise NotFound()


async def docs_page(request: Request) -> Response:
    _ensure_enabled(request)
    return HTMLResponse(PAGE, headers={"Content-Security-Policy": CSP})


async def docs_asset(request: Request) -> Response:
    _ensure_enabled(request)
    name = request.path_params["name"]
    if name == "init.js":
        return Response(INIT, media_type="text/javascript")
    if name not in ASSETS:
        raise NotFound()
    return FileResponse(
        str(swagger_ui_path / name), media_type=ASSETS[name], headers={"Cache-Control": "public, max-age=86400"}
    )


api_routes = [
    ApiRoute(
        "GET",
        "/openapi.json",
        openapi_json,
        "openapi",
        "This document",
        "operations",
        auth="none",
        description="Open unless DOCS_ENABLED=false; then it needs a key like every API route.",
        responses={200: Answer("OpenAPI 3.1 document", OpenApiDocument)},
    ),
]
# HTML and static files: not API operations, so explicitly left out of the document.
routes = [
    *mount(api_routes),
    Route("/docs", docs_page, methods=["GET"], include_in_schema=False),
    Route("/docs/{name}", docs_asset, methods=["GET"], include_in_schema=False),
]
