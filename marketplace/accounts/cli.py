"""``flask accounts create-admin``: the first platform admin of a fresh installation."""

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


def register(app) -> None:
    app.cli.add_command(accounts)
