"""GraphiQL served by the app itself: the page and its assets (GraphiQL 3.8.3, React 18.2.0,
vendored under `api/graphiql_assets/` with their licences), so it works offline and behind a
firewall, and its content security policy allows this server and nothing else.

The page opens on a ready `logIn` (the demo ADMIN's variables) and says how to pass the
token in the Headers tab.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

ASSETS_DIR = Path(__file__).parent / "graphiql_assets"
ASSETS_ROUTE = "/graphiql"

# The only files the asset route serves (no directory listing, no path from the client).
ASSETS: dict[str, str] = {
    "react.production.min.js": "text/javascript",
    "react-dom.production.min.js": "text/javascript",
    "graphiql.min.js": "text/javascript",
    "graphiql.min.css": "text/css",
    "comptoir-graphiql.js": "text/javascript",
    "comptoir-graphiql.css": "text/css",
}

PAGE = f"""<!doctype html>
<html lang="fr">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>comptoir · GraphiQL</title>
    <link rel="stylesheet" href="{ASSETS_ROUTE}/graphiql.min.css" />
    <link rel="stylesheet" href="{ASSETS_ROUTE}/comptoir-graphiql.css" />
  </head>
  <body>
    <div id="graphiql">Chargement de GraphiQL…</div>
    <script src="{ASSETS_ROUTE}/react.production.min.js"></script>
    <script src="{ASSETS_ROUTE}/react-dom.production.min.js"></script>
    <script src="{ASSETS_ROUTE}/graphiql.min.js"></script>
    <script src="{ASSETS_ROUTE}/comptoir-graphiql.js"></script>
  </body>
</html>
"""

# Scripts and style sheets from this server only, no inline script. GraphiQL's components
# set style attributes at run time (hence inline styles); its fonts are data: URIs inside
# its style sheet. It talks to this server only.
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "font-src 'self' data:; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


async def graphiql_asset(request: Request) -> Response:
    name = request.path_params["name"]
    media_type = ASSETS.get(name)
    if media_type is None:
        return PlainTextResponse("Not Found", status_code=404)
    # The files change only with a release: cached a day, revalidated by their ETag.
    return FileResponse(
        ASSETS_DIR / name,
        media_type=media_type,
        headers={"cache-control": "public, max-age=86400"},
    )
