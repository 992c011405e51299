import pytest


def test_healthz_answers_json_for_database_and_search(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.is_json
    checks = response.get_json()["checks"]
    assert checks["database"]["ok"] is True and checks["search"]["ok"] is True


@pytest.mark.redis
def test_healthz_checks_redis_when_configured(client):
    checks = client.get("/healthz").get_json()["checks"]
    assert checks["redis"] == {"ok": True, "detail": "redis"}


def test_healthz_reports_unreachable_redis(app, client):
    settings = app.config["MARKETPLACE"]
    previous = settings["REDIS_URL"]
    settings["REDIS_URL"] = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/healthz")
    finally:
        settings["REDIS_URL"] = previous
    assert response.status_code == 503
    assert response.get_json()["checks"]["redis"]["ok"] is False
