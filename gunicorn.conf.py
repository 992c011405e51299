"""gunicorn settings read from the project folder (``make run``, the benchmarks, deployments that start here).

The application is loaded once in the master and the search analyser (jieba's dictionary, about 60 MB and
half a second) is built there too, before the workers fork: they share it, and no worker's first request
waits for it.
"""

preload_app = True


def on_starting(server):
    app = server.app.wsgi()
    with app.app_context():
        from marketplace.search import services

        services.analyser()
