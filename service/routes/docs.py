"""The interactive API docs (/docs, /redoc), with their CDN files pinned by hash.

FastAPI's own docs pages load Swagger UI and ReDoc from jsDelivr by major version
(``swagger-ui-dist@5``), so whatever the CDN serves under that name runs on the
service's origin. Here each file is named by exact version and carries a
Subresource Integrity hash: a browser refuses a file whose bytes differ. The hashes
are of the files in the npm packages themselves (``npm pack swagger-ui-dist@5.35.0``,
``npm pack redoc@2.5.4``), which jsDelivr's ``/npm/`` path serves unchanged; bumping
a version means recomputing its hash (``openssl dgst -sha384 -binary FILE | base64``).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse

CDN = "https://cdn.jsdelivr.net/npm"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"
# FastAPI's defaults fetch a favicon from its own site and ReDoc's fonts from Google: third
# parties that learn who reads the docs, and the page's policy forbids them anyway.
NO_FAVICON = "data:,"


@dataclass(frozen=True, slots=True)
class PinnedFile:
    url: str
    integrity: str


SWAGGER_JS = PinnedFile(
    f"{CDN}/swagger-ui-dist@5.35.0/swagger-ui-bundle.js",
    "sha384-gjRm0bEPMeTmMh5jT2cHccIwCUZSTd8YC+j0d0sXw0MdGEfScduGpSyF3ZSSLkX9",
)
SWAGGER_CSS = PinnedFile(
    f"{CDN}/swagger-ui-dist@5.35.0/swagger-ui.css",
    "sha384-WlYgdmXYOOBWL5apwjDEZwN+U3HmXSSu5R6V5aGxEcf7z+KuRNwBhoxKVN1i3D5I",
)
REDOC_JS = PinnedFile(
    f"{CDN}/redoc@2.5.4/bundles/redoc.standalone.js",
    "sha384-w447zOpYfw/1Tv/5AK9NfHTlQIqE3RVR6KY62jCyy9zNDgO64cMwGGP1Fj0zJVf5",
)

router = APIRouter(include_in_schema=False)


def with_integrity(page: HTMLResponse, *files: PinnedFile) -> HTMLResponse:
    """The same page with each pinned file's tag carrying its hash.

    FastAPI's page builders take the URLs but have no integrity parameter; the tags
    they write (``src="URL"`` / ``href="URL"``) are rewritten, and a builder that
    stopped writing one of them fails here rather than serving an unpinned file.
    """
    html = bytes(page.body).decode("utf-8")
    for pinned in files:
        attribute = "href" if pinned.url.endswith(".css") else "src"
        tag = f'{attribute}="{pinned.url}"'
        if tag not in html:
            raise RuntimeError(f"the docs page no longer loads {pinned.url}")
        html = html.replace(tag, f'{tag} integrity="{pinned.integrity}" crossorigin="anonymous"')
    return HTMLResponse(html)


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} - Swagger UI",
        oauth2_redirect_url=OAUTH2_REDIRECT,
        swagger_js_url=SWAGGER_JS.url,
        swagger_css_url=SWAGGER_CSS.url,
        swagger_favicon_url=NO_FAVICON,
    )
    return with_integrity(page, SWAGGER_JS, SWAGGER_CSS)


@router.get(OAUTH2_REDIRECT)
async def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    page = get_redoc_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=REDOC_JS.url,
        redoc_favicon_url=NO_FAVICON,
        with_google_fonts=False,
    )
    return with_integrity(page, REDOC_JS)
