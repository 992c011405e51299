"""``flask accounts create-admin``: the first platform admin of a fresh installation;
``flask accounts purge-held``: the daily job that ends the legal hold on closed accounts' orders."""

import click
from flask.cli import AppGroup

from marketplace.accounts import services
from marketplace.accounts.models import Role
from marketplace.extensions import db

accounts = AppGroup("accounts", help="Manage accounts.")


@accounts.command("create-admin")
@click.argument("identifier")
@click.option("--name", default="平台管理员", help="display name")
@click.password_option()
def create_admin(identifier, name, password):
    """Create a platform admin with an email or mobile number (or promote an existing account)."""
    try:
        user = services.find_user(identifier) or services.register_user(identifier, password, name)
    except services.AccountError as error:
        raise click.ClickException(str(error)) from None
    services.grant_role(user, Role.platform_admin)
    db.session.commit()
    click.echo(f"{user.login_name} is a platform admin")


@accounts.command("purge-held")
@click.option("--now", "now_text", default=None, help="judge the holds as at this ISO time (default: now)")
def purge_held(now_text):
    """Clear the buyer's details from closed accounts' orders whose three-year hold has ended."""
    from datetime import UTC, datetime

    from marketplace.accounts import closure

    try:
        now = datetime.fromisoformat(now_text) if now_text else None
    except ValueError:
        raise click.BadParameter("use an ISO date or time, e.g. 2029-12-01T00:00:00+00:00", param_hint="--now") from None
    if now is not None and now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    cleared = closure.purge_held(now)
    db.session.commit()
    click.echo(f"{cleared} held orders cleared")


def register(app) -> None:
    app.cli.add_command(accounts)
