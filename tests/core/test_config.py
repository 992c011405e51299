import os
import subprocess
import sys
from pathlib import Path

import pytest

from marketplace import create_app
from marketplace.core.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_need_nothing_from_the_environment(tmp_path):
    settings = load_settings(environ={}, overrides={"INSTANCE_PATH": str(tmp_path)})
    assert settings["ENV"] == "development"
    assert settings["DEFAULT_LOCALE"] == "zh_CN" and settings["DEFAULT_CURRENCY"] == "CNY"
    assert settings["SESSION_COOKIE_SECURE"] is False


def test_development_secret_is_generated_once_and_kept(tmp_path):
    first = load_settings(environ={}, overrides={"INSTANCE_PATH": str(tmp_path)})["SECRET_KEY"]
    second = load_settings(environ={}, overrides={"INSTANCE_PATH": str(tmp_path)})["SECRET_KEY"]
    assert len(first) >= 32 and first == second
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_production_without_secret_key_refuses_with_a_clear_message(tmp_path):
    with pytest.raises(ConfigError, match="MARKETPLACE_SECRET_KEY is not set"):
        load_settings(environ={"MARKETPLACE_ENV": "production", "MARKETPLACE_INSTANCE_PATH": str(tmp_path)})
    assert not (tmp_path / "secret_key").exists()


def test_production_refuses_a_short_secret_and_turns_on_secure_cookies():
    with pytest.raises(ConfigError, match="too short"):
        load_settings(environ={"MARKETPLACE_ENV": "production", "MARKETPLACE_SECRET_KEY": "short"})
    settings = load_settings(environ={"MARKETPLACE_ENV": "production", "MARKETPLACE_SECRET_KEY": "k" * 40})
    assert settings["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize(("name", "value", "message"), [
    ("ENV", "staging", "must be one of"),
    ("LOGIN_MAX_FAILURES", "ten", "whole number"),
    ("SESSION_COOKIE_SECURE", "maybe", "true or false"),
    ("MAIL_SENDER", "pigeon", "unknown"),
    ("DEFAULT_LOCALE", "fr_FR", "must be one of"),
    ("DEFAULT_TIMEZONE", "Mars/Olympus", "not a time zone"),
    ("ARGON2_PROFILE", "FASTEST_POSSIBLE", "not an argon2 profile"),
    ("DEFAULT_CURRENCY", "RMB", "not an ISO 4217 code"),
    ("SEARCH_INDEXING", "later", "must be auto, inline or queue"),
    ("SEARCH_INDEXING", "queue", "needs MARKETPLACE_REDIS_URL"),
])
def test_unusable_values_name_the_variable(tmp_path, name, value, message):
    with pytest.raises(ConfigError, match=message) as error:
        load_settings(environ={f"MARKETPLACE_{name}": value, "MARKETPLACE_INSTANCE_PATH": str(tmp_path)})
    assert f"MARKETPLACE_{name}" in str(error.value)


def test_environment_overrides_defaults(tmp_path):
    settings = load_settings(environ={"MARKETPLACE_LOGIN_MAX_FAILURES": "3", "MARKETPLACE_PLATFORM_DOMAIN": "zz.cn",
                                      "MARKETPLACE_INSTANCE_PATH": str(tmp_path)})
    assert settings["LOGIN_MAX_FAILURES"] == 3 and settings["PLATFORM_DOMAIN"] == "zz.cn"


def test_production_process_stops_at_start_with_the_message(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETPLACE_")}
    env.update(MARKETPLACE_ENV="production", MARKETPLACE_INSTANCE_PATH=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert "MARKETPLACE_SECRET_KEY is not set" in result.stderr


def test_creating_the_app_does_not_touch_the_database(tmp_path):
    # Nothing listens on port 1: any query during create_app would fail here.
    app = create_app({"ENV": "testing", "SECRET_KEY": "x" * 40, "INSTANCE_PATH": str(tmp_path),
                      "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/nothing"})
    assert "tenants" in app.cli.commands and "demo" in app.cli.commands


@pytest.mark.no_transaction  # the shared test session would answer for the broken database
def test_healthz_reports_a_broken_database_as_failing(tmp_path):
    app = create_app({"ENV": "testing", "SECRET_KEY": "x" * 40, "INSTANCE_PATH": str(tmp_path),
                      "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/nothing?connect_timeout=2"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "failing" and body["checks"]["database"]["ok"] is False
    assert body["checks"]["search"]["ok"] is True
