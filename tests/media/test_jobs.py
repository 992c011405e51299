"""Jobs run inline without Redis, on RQ with it, and always inside an application context."""

import os

import pytest
from flask import Flask

import marketplace
from marketplace.media import jobs
from marketplace.media.images import ingest_image
from marketplace.media.storage import DERIVED_EXTENSIONS, DERIVED_WIDTHS, derived_key
from tests.media.samples import encode, picture

MAKE_DERIVATIVES = "marketplace.media.images.make_derivatives"


def derivatives_exist(storage, sha256: str) -> bool:
    return all(storage.exists(derived_key(sha256, w, e)) for w in DERIVED_WIDTHS for e in DERIVED_EXTENSIONS)


def test_without_redis_the_job_runs_at_once(media, storage):
    stored = ingest_image(encode(picture(900, 600), "JPEG"))
    assert not derivatives_exist(storage, stored.sha256)
    assert jobs.enqueue(MAKE_DERIVATIVES, stored.sha256) is None
    assert derivatives_exist(storage, stored.sha256)


def test_inline_job_errors_reach_the_caller(media):
    with pytest.raises(FileNotFoundError):
        jobs.enqueue(MAKE_DERIVATIVES, "0" * 64)


@pytest.mark.parametrize("path", [
    "os.system",  # outside the marketplace package
    "marketplace.media.images._decode",  # private
    "marketplace.media.nothing_here.run",
    "marketplace.media.images.no_such_function",
    "marketplace.media.images.ACCEPTED_FORMATS",  # not callable
    "make_derivatives",
    "marketplace.",
])
def test_only_functions_of_the_marketplace_package_can_be_named(media, path):
    with pytest.raises(ValueError):
        jobs.enqueue(path, "x")


def test_a_bad_path_fails_in_the_caller_even_with_redis_configured(app, media, monkeypatch):
    # Checked before Redis is contacted: nothing listens on port 1.
    monkeypatch.setitem(app.config["MARKETPLACE"], "REDIS_URL", "redis://127.0.0.1:1/0")
    with pytest.raises(ValueError):
        jobs.enqueue("os.system", "true")


@pytest.mark.no_transaction  # runs outside any application context, as an RQ worker does
def test_run_in_app_builds_the_application_when_there_is_none(tmp_path, monkeypatch):
    built = []

    def create_app():  # stands in for the real factory, which reads the worker's MARKETPLACE_* environment
        worker_app = Flask("worker")
        worker_app.config["MARKETPLACE"] = {"MEDIA_ROOT": str(tmp_path / "worker-media")}
        built.append(worker_app)
        return worker_app

    monkeypatch.setattr(marketplace, "create_app", create_app)
    monkeypatch.setattr(jobs, "_worker_app", None)
    first = jobs.run_in_app("marketplace.media.storage.media_root")
    second = jobs.run_in_app("marketplace.media.storage.media_root")
    assert first == second == tmp_path / "worker-media"
    assert len(built) == 1  # once per process


def test_run_in_app_uses_the_current_application(app, media):
    assert jobs.run_in_app("marketplace.media.storage.media_root") == media


@pytest.mark.redis
def test_with_redis_the_job_is_queued_and_a_worker_runs_it(app, media, storage, monkeypatch):
    import redis
    from rq import Queue, SimpleWorker

    url = os.environ["MARKETPLACE_TEST_REDIS_URL"]
    monkeypatch.setitem(app.config["MARKETPLACE"], "REDIS_URL", url)
    connection = redis.Redis.from_url(url)
    queue = Queue(jobs.QUEUE_NAME, connection=connection)
    queue.empty()
    try:
        stored = ingest_image(encode(picture(900, 600), "PNG"))
        job_id = jobs.enqueue(MAKE_DERIVATIVES, stored.sha256)
        assert job_id is not None and job_id in queue.job_ids
        assert not derivatives_exist(storage, stored.sha256)  # queued, not run

        SimpleWorker([queue], connection=connection).work(burst=True)

        job = queue.fetch_job(job_id)
        assert job.is_finished, job.latest_result()
        assert derivatives_exist(storage, stored.sha256)
    finally:
        queue.empty()
        connection.close()
