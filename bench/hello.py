"""The framework ceiling: a hello-world Flask app, served by the same gunicorn settings as the platform.

Every page's throughput in ``make bench`` is given as a fraction of this one's, measured in the same run.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, world!"
