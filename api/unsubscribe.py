"""GET or POST /alertes/desabonnement/{token}: the one-click unsubscribe of an alert mail.

The token (`auth.unsubscribe_tokens`) names a person and the kinds of alert the mail was about;
the route turns those kinds OFF for that person, and answers a short French page. POST is the
RFC 8058 one-click request mail clients send from the `List-Unsubscribe-Post` header; GET is
the link in the mail's body. Both only ever switch mails off, for the person the link was sent
to, and doing it twice changes nothing. A tampered, malformed or unknown token gets a 404.
"""

from __future__ import annotations

from html import escape

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from auth.unsubscribe_tokens import InvalidUnsubscribeToken, verify_unsubscribe
from comptoir.settings import Settings
from db.alert_preferences import set_deliveries
from db.engine import transaction
from db.models import User
from db.types import utcnow
from domain.alert_notifications import AlertDelivery
from domain.labels import ALERT_KIND_LABELS

_PAGE = """<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title}</title></head>
<body style="font-family:Arial,Helvetica,sans-serif;color:#1f2933;max-width:40em;
margin:3em auto;padding:0 1em;">
<h1 style="font-size:1.4em;">{title}</h1>
<p>{body}</p>
</body></html>
"""

NOT_FOUND_TITLE = "Lien de désabonnement invalide"
NOT_FOUND_BODY = (
    "Ce lien de désabonnement n'est pas valide. Utilisez le lien complet reçu par courriel, ou "
    "modifiez vos préférences d'alertes dans votre espace client."
)


def _page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(
        _PAGE.format(title=escape(title), body=body),
        status_code=status_code,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


async def unsubscribe(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    secret = settings.secret_key.get_secret_value()  # type: ignore[union-attr]
    try:
        user_id, kinds = verify_unsubscribe(secret, request.path_params["token"])
    except InvalidUnsubscribeToken:
        return _page(NOT_FOUND_TITLE, escape(NOT_FOUND_BODY), 404)
    async with transaction(sessions) as session:
        if await session.get(User, user_id) is None:
            return _page(NOT_FOUND_TITLE, escape(NOT_FOUND_BODY), 404)
        await set_deliveries(
            session, user_id, dict.fromkeys(kinds, AlertDelivery.OFF), now=utcnow()
        )
    names = ", ".join(f"« {escape(ALERT_KIND_LABELS[kind])} »" for kind in sorted(kinds))
    return _page(
        "Désabonnement enregistré",
        f"Vous ne recevrez plus de courriel pour les alertes {names}. Les alertes restent "
        "visibles dans votre espace client, où vous pouvez à tout moment rétablir ces envois "
        "dans vos préférences d'alertes.",
    )
