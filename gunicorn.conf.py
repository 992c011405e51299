"""gunicorn settings read from the project folder (``make run``, the benchmarks, deployments that start here).

The application is loaded once in the master and the search analyser (jieba's dictionary, about 60 MB and
half a second) is built there too, before the workers fork: they share it, and no worker's first request
waits for it. Then everything loaded so far is moved out of the garbage collector's sight (``gc.freeze``): a
collection in a worker would otherwise write to every shared object's header and copy its page into the worker.
"""

import gc

preload_app = True


def on_starting(server):
    app = server.app.wsgi()
    if "marketplace" not in type(app).__module__:  # the benchmark's hello-world app runs with these settings too
        return
    with app.app_context():
        from marketplace.search import services

        services.analyser()
    gc.collect()
    gc.freeze()
