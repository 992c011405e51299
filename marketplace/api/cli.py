"""``flask api issue-token | revoke-token | tokens``: merchant API tokens, from the command line;
``flask api token-statistics | statistics-tokens | revoke-statistics-token`` for the statistics office; and
``flask api issue-operator-token | operator-tokens | revoke-operator-token`` for tenant operators."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from marketplace.accounts import services as accounts
from marketplace.api import auth
from marketplace.api.models import ApiToken, OperatorToken, StatisticsToken
from marketplace.api.scopes import ALL_OPERATOR_SCOPES, ALL_SCOPES
from marketplace.core.db import utcnow, writing
from marketplace.extensions import db
from marketplace.shops import services as shops
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant

api = AppGroup("api", help="Merchant API tokens and the statistics office's tokens.")


def _tenant_and_shop(tenant_slug: str, shop_slug: str):
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == tenant_slug))
    if tenant is None:
        raise click.BadParameter(f"no tenant {tenant_slug!r}", param_hint="--tenant")
    with tenant_scope(tenant):
        shop = shops.shop_by_slug(shop_slug)
    if shop is None:
        raise click.BadParameter(f"no shop {shop_slug!r} in {tenant_slug}", param_hint="--shop")
    return tenant, shop


@api.command("issue-token")
@click.option("--tenant", "tenant_slug", required=True, help="tenant slug")
@click.option("--shop", "shop_slug", required=True, help="shop slug")
@click.option("--user", "identifier", required=True, help="email or mobile of the shop's owner or staff")
@click.option("--scope", "scopes", multiple=True, type=click.Choice(ALL_SCOPES),
              help="what the token may do; repeat for several (default: every scope)")
@click.argument("name")
def issue_token_command(tenant_slug, shop_slug, identifier, name, scopes):
    """Issue a token NAME for a user on a shop; the token is printed once and cannot be shown again."""
    scopes = scopes or ALL_SCOPES
    with writing():
        tenant, shop = _tenant_and_shop(tenant_slug, shop_slug)
        user = accounts.find_user(identifier)
        if user is None:
            raise click.BadParameter(f"no account {identifier!r}", param_hint="--user")
        with tenant_scope(tenant):
            try:
                token = auth.issue_token(user, shop, name, scopes)
            except auth.TokenError as error:
                db.session.rollback()
                raise click.ClickException(str(error)) from None
            db.session.commit()
    click.echo(f"token for {user.login_name} on {tenant.slug}/{shop.slug} ({name}; scopes: {' '.join(scopes)}); "
               "store it now, it is not shown again:", err=True)
    click.echo(token)


@api.command("tokens")
@click.option("--tenant", "tenant_slug", required=True, help="tenant slug")
@click.option("--shop", "shop_slug", required=True, help="shop slug")
def list_tokens_command(tenant_slug, shop_slug):
    """List a shop's tokens (never the tokens themselves)."""
    tenant, shop = _tenant_and_shop(tenant_slug, shop_slug)
    for token in auth.tokens_of_shop(shop):
        state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
        used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
        click.echo(f"{token.id:6}  {state:24}  last used {used:16}  {token.user.login_name}  {token.name}  "
                   f"[{token.scopes}]")


@api.command("revoke-token")
@click.argument("token_id", type=int)
def revoke_token_command(token_id):
    """Revoke a token by its id (see ``flask api tokens``)."""
    with writing():
        token = db.session.get(ApiToken, token_id)
        if token is None:
            raise click.BadParameter(f"no token {token_id}", param_hint="TOKEN_ID")
        auth.revoke_token(token)
        db.session.commit()
    click.echo(f"token {token_id} ({token.name}) revoked")


@api.command("token-statistics")
@click.option("--admin", "identifier", required=True, help="email or mobile of the platform admin issuing it")
@click.argument("name")
def statistics_token_command(identifier, name):
    """Issue a token NAME for the statistics office (/api/v1/statistics); printed once, never shown again."""
    with writing():
        admin = accounts.find_user(identifier)
        if admin is None:
            raise click.BadParameter(f"no account {identifier!r}", param_hint="--admin")
        try:
            token = auth.issue_statistics_token(name, admin)
        except auth.TokenError as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from None
        db.session.commit()
    click.echo(f"statistics token ({name}) issued by {admin.login_name}; store it now, it is not shown again:",
               err=True)
    click.echo(token)


@api.command("statistics-tokens")
def list_statistics_tokens_command():
    """List the statistics office's tokens (never the tokens themselves)."""
    for token in db.session.scalars(select(StatisticsToken).order_by(StatisticsToken.id)):
        state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
        used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
        click.echo(f"{token.id:6}  {state:24}  last used {used:16}  {token.name}")


@api.command("revoke-statistics-token")
@click.argument("token_id", type=int)
def revoke_statistics_token_command(token_id):
    """Revoke a statistics token by its id (see ``flask api statistics-tokens``)."""
    with writing():
        token = db.session.get(StatisticsToken, token_id)
        if token is None:
            raise click.BadParameter(f"no statistics token {token_id}", param_hint="TOKEN_ID")
        if token.revoked_at is None:
            token.revoked_at = utcnow()
        db.session.commit()
    click.echo(f"statistics token {token_id} ({token.name}) revoked")


# -- operator tokens ------------------------------------------------------------------------------------------------

def _tenant(tenant_slug: str) -> Tenant:
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == tenant_slug))
    if tenant is None:
        raise click.BadParameter(f"no tenant {tenant_slug!r}", param_hint="--tenant")
    return tenant


@api.command("issue-operator-token")
@click.option("--tenant", "tenant_slug", required=True, help="tenant slug")
@click.option("--user", "identifier", required=True, help="email or mobile of one of the tenant's operators")
@click.option("--scope", "scopes", multiple=True, type=click.Choice(ALL_OPERATOR_SCOPES),
              help="what the token may do; repeat for several (default: every operator scope)")
@click.argument("name")
def issue_operator_token_command(tenant_slug, identifier, name, scopes):
    """Issue an operator API token NAME for an operator of a tenant; printed once, never shown again."""
    scopes = scopes or ALL_OPERATOR_SCOPES
    with writing():
        tenant = _tenant(tenant_slug)
        user = accounts.find_user(identifier)
        if user is None:
            raise click.BadParameter(f"no account {identifier!r}", param_hint="--user")
        with tenant_scope(tenant):
            try:
                token = auth.issue_operator_token(user, tenant, name, scopes)
            except auth.TokenError as error:
                db.session.rollback()
                raise click.ClickException(str(error)) from None
            db.session.commit()
    click.echo(f"operator token for {user.login_name} on {tenant.slug} ({name}; scopes: {' '.join(scopes)}); "
               "store it now, it is not shown again:", err=True)
    click.echo(token)


@api.command("operator-tokens")
@click.option("--tenant", "tenant_slug", required=True, help="tenant slug")
def list_operator_tokens_command(tenant_slug):
    """List a tenant's operator tokens (never the tokens themselves)."""
    for token in auth.operator_tokens_of(_tenant(tenant_slug)):
        state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
        used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
        click.echo(f"{token.id:6}  {state:24}  last used {used:16}  {token.user.login_name}  {token.name}  "
                   f"[{token.scopes}]")


@api.command("revoke-operator-token")
@click.argument("token_id", type=int)
def revoke_operator_token_command(token_id):
    """Revoke an operator token by its id (see ``flask api operator-tokens``)."""
    with writing():
        token = db.session.get(OperatorToken, token_id)
        if token is None:
            raise click.BadParameter(f"no operator token {token_id}", param_hint="TOKEN_ID")
        auth.revoke_operator_token(token)
        db.session.commit()
    click.echo(f"operator token {token_id} ({token.name}) revoked")



@api.command("purge-idempotency")
def purge_idempotency_command():
    """Delete the stored Idempotency-Key answers older than 24 hours (run hourly from cron)."""
    from marketplace.api import idempotency

    with writing():
        removed = idempotency.purge()
        db.session.commit()
    click.echo(f"{removed} idempotency records older than {idempotency.RETENTION} deleted")

def register(app) -> None:
    app.cli.add_command(api)
