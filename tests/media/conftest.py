import pytest

from marketplace.media.storage import LocalMediaStorage


@pytest.fixture
def media_root(app, tmp_path, monkeypatch):
    """The session app with its media folder (and nothing else) moved to this test's own folder."""
    root = tmp_path / "media"
    monkeypatch.setitem(app.config["MARKETPLACE"], "MEDIA_ROOT", str(root))
    monkeypatch.setitem(app.config["MARKETPLACE"], "REDIS_URL", None)
    return root


@pytest.fixture
def storage(media_root):
    return LocalMediaStorage(media_root)


@pytest.fixture
def media(app, media_root):
    """A request context (settings, translations, url_for) with an empty media folder."""
    with app.test_request_context():
        yield media_root
