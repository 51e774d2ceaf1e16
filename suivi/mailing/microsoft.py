"""A user's Microsoft 365 account (S3): connecting it (OAuth 2.0 authorisation code flow with
PKCE, through ``graph``), keeping its tokens encrypted (``MicrosoftAccount``), refreshing them
before use, and disconnecting."""

import secrets

from django.db import transaction
from django.utils.translation import gettext as _

from suivi.core import audit
from suivi.core.errors import InvalidInput

from . import graph
from .models import MicrosoftAccount

FLOW_KEY = "suivi-microsoft-flow"


def start(session, redirect_uri: str) -> str:
    """The address to send the browser to; the flow (with its PKCE verifier) stays in the
    server-side session, never in a page or a cookie."""
    flow = graph.authorisation_url(redirect_uri=redirect_uri, state=secrets.token_urlsafe(24))
    session[FLOW_KEY] = flow
    return flow["auth_uri"]


@transaction.atomic
def finish(*, acting_user, session, query) -> MicrosoftAccount:
    """The browser came back from Microsoft: exchange the code, keep the tokens."""
    flow = session.pop(FLOW_KEY, None)
    if not flow:
        raise InvalidInput({"microsoft": _("The connection to Microsoft 365 expired: start again.")})
    try:
        tokens = graph.tokens_from_code(flow, query)
    except graph.GraphError as e:
        raise InvalidInput({"microsoft": e.message}) from e
    account, _created = MicrosoftAccount.objects.update_or_create(
        user=acting_user,
        defaults={
            "account_email": tokens.account_email[:320],
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "expires_at": tokens.expires_at,
        },
    )
    audit.record(acting_user, "connect", acting_user, {"microsoft 365": ["", account.account_email]})
    return account


def fresh_tokens(account: MicrosoftAccount) -> graph.GraphTokens:
    """Tokens good for the next minutes; refreshed ones are stored (Microsoft may rotate the
    refresh token)."""
    tokens = graph.GraphTokens(
        access_token=account.access_token,
        refresh_token=account.refresh_token,
        expires_at=account.expires_at,
        account_email=account.account_email,
    )
    renewed = graph.refreshed(tokens)
    if renewed is not tokens:
        MicrosoftAccount.objects.filter(pk=account.pk).update(
            access_token=renewed.access_token,  # encrypted by the field, as on save
            refresh_token=renewed.refresh_token,
            expires_at=renewed.expires_at,
        )
    return renewed


@transaction.atomic
def disconnect(*, acting_user) -> None:
    deleted, _rows = MicrosoftAccount.objects.filter(user=acting_user).delete()
    if deleted:
        audit.record(acting_user, "disconnect", acting_user, {"microsoft 365": ["connected", ""]})
