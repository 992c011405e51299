"""A very small job runner: run now, or hand the work to RQ when Redis is configured.

``enqueue("marketplace.media.images.make_derivatives", sha256)`` names the function by its dotted path
and passes plain, picklable arguments:

* without ``MARKETPLACE_REDIS_URL`` the function runs at once, in the caller's application context, and
  its exceptions reach the caller (development, tests, small sites);
* with ``MARKETPLACE_REDIS_URL`` the call is put on the RQ queue ``marketplace`` and a worker runs it.

Running the workers, from the project folder and with the same ``MARKETPLACE_*`` settings as the web
processes (the worker builds its own application from them, so it finds the same media folder)::

    .venv/bin/rq worker --worker-class rq.worker.SimpleWorker marketplace --url "$MARKETPLACE_REDIS_URL"

Each queued job is ``run_in_app(func_path, *args)``: it builds the application with
``marketplace.create_app()`` (building it queries nothing) and runs the function inside an application
context. With ``SimpleWorker`` the worker process builds the application (and the search analyser) once;
RQ's default worker forks a fresh process per job and would build both for every job. Only functions inside
the ``marketplace`` package can be named: the queue is not a way to run arbitrary code.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable

from flask import current_app, has_app_context

from marketplace.core.outage_log import OutageLog

log = logging.getLogger(__name__)

QUEUE_NAME = "marketplace"
_PACKAGE = "marketplace."
_worker_app = None  # the application a worker process builds for its jobs (see run_in_app)
#: Failures to queue, whichever work they were for: one outage of Redis.
queue_failures = OutageLog("the queue is still unreachable")


def resolve(func_path: str) -> Callable:
    """The function named ``package.module.function`` (inside the marketplace package)."""
    module_name, _, name = func_path.rpartition(".")
    if not func_path.startswith(_PACKAGE) or not module_name or not name or name.startswith("_"):
        raise ValueError(f"jobs run public functions of the marketplace package, not {func_path!r}")
    try:
        func = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"no job function {func_path!r}: {exc}") from exc
    if not callable(func):
        raise ValueError(f"{func_path!r} is not a function")
    return func


def _queue(url: str):
    import redis
    from rq import Queue

    connections = current_app.extensions.setdefault("marketplace.jobs.redis", {})
    if url not in connections:
        connections[url] = redis.Redis.from_url(url)
    return Queue(QUEUE_NAME, connection=connections[url])


def enqueue(func_path: str, *args) -> str | None:
    """Run ``func_path(*args)`` now, or queue it on RQ when Redis is configured.

    Returns the RQ job id when queued, ``None`` when the function already ran. The path is checked here
    either way, so a typo fails in the caller rather than later in a worker.
    """
    func = resolve(func_path)
    url = current_app.config["MARKETPLACE"].get("REDIS_URL")
    if not url:
        func(*args)
        return None
    job = _queue(url).enqueue(run_in_app, func_path, *args)
    log.info("queued %s%r as job %s", func_path, args, job.id)
    return job.id


def log_queue_failure(logger: logging.Logger, message: str, *args) -> None:
    """Log, from the ``except`` block of a failed ``enqueue``, that the work is done another way: with the
    traceback the first time in a minute, as one line after that (with Redis down, every checkout fails to queue
    its notices and its index update)."""
    queue_failures.failed(logger, message, *args)


def run_in_app(func_path: str, *args):
    """What an RQ worker runs: ``func_path(*args)`` inside an application context.

    Uses the current application when there is one (tests, ``SimpleWorker`` inside an app), else builds
    one from the environment with ``create_app()``, once per process.
    """
    func = resolve(func_path)
    if has_app_context():
        return func(*args)
    global _worker_app
    if _worker_app is None:
        from marketplace import create_app

        _worker_app = create_app()
    with _worker_app.app_context():
        return func(*args)
