"""Error pages (themed, in the tenant's look) and JSON problem details for API clients."""

from __future__ import annotations

import logging

from flask import current_app, jsonify, make_response, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed, NotFound

from marketplace.core.themes import render_themed
from marketplace.extensions import db

log = logging.getLogger(__name__)

#: Stable machine-readable codes and the message people see, per HTTP status.
MESSAGES = {
    400: ("bad_request", _l("请求有误，请检查后重试。")),
    401: ("unauthorised", _l("请先登录。")),
    403: ("forbidden", _l("您没有访问此页面的权限。")),
    404: ("not_found", _l("找不到您要的页面。")),
    405: ("method_not_allowed", _l("不支持此操作。")),
    413: ("too_large", _l("上传的内容太大。")),
    429: ("too_many_requests", _l("操作过于频繁，请稍后再试。")),
    500: ("server_error", _l("服务器出了点问题，我们会尽快修复。")),
    503: ("unavailable", _l("暂时无法访问，请稍后再试。")),
}


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json", "application/problem+json"])
    return best in ("application/json", "application/problem+json")


def problem(status: int, code: str | None = None, detail: str | None = None):
    default_code, message = MESSAGES.get(status, MESSAGES[500 if status >= 500 else 400])
    body = {"type": "about:blank", "status": status, "code": code or default_code, "title": str(message)}
    if detail:
        body["detail"] = detail
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def _render(status: int, code: str | None = None, detail: str | None = None):
    if wants_json():
        return problem(status, code, detail)
    default_code, message = MESSAGES.get(status, MESSAGES[500 if status >= 500 else 400])
    try:
        return render_themed("error.html", status=status, message=message, detail=detail), status
    except Exception:  # the error page itself failed: answer plainly rather than not at all
        log.exception("error page %s failed to render", status)
        return f"{status} {message}", status, {"Content-Type": "text/plain; charset=utf-8"}


def _nothing_there(exc: HTTPException) -> bool:
    """Werkzeug answers 405 for a path whose number is out of its converter's range when a rule of another
    method has the same shape (PATCH …/products/99999999999999): nothing is there for any method — a 404."""
    methods = [m for m in getattr(exc, "valid_methods", None) or () if m not in ("HEAD", "OPTIONS")]
    adapter = current_app.create_url_adapter(request)
    for method in methods:
        try:
            adapter.match(request.path, method=method)
        except (NotFound, MethodNotAllowed):
            continue
        except HTTPException:  # a redirect (a missing slash): the path is there
            return False
        return False  # that method reaches a view: the 405 is right
    return bool(methods)


def register(app) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        return _render(400, "csrf_failed", str(_l("表单已过期或来源不明，请刷新页面后重试。")))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if exc.code in (301, 302, 303, 307, 308) or exc.code is None:
            return exc
        if exc.code == 405 and _nothing_there(exc):
            return _render(404)
        detail = exc.description if getattr(exc, "show_detail", False) else None
        return _render(exc.code, detail=detail)

    @app.errorhandler(DataError)
    def _bad_data(exc: DataError):
        # The database refused a value that slipped past validation (a NUL byte, a number out of range):
        # that is bad input, not a server fault. Forms validate first; this is the net under them.
        db.session.rollback()
        log.warning("database refused request data: %s", exc.orig)
        return _render(400, "invalid_data", str(_l("提交的内容含有无法保存的字符或数值，请检查后重试。")))

    @app.errorhandler(OperationalError)
    def _database_unavailable(exc: OperationalError):
        # The database went away (restarted, this connection cut) or stayed busy past its timeout: the request's
        # transaction did not commit, and the client may simply try again (the next connection is checked first:
        # pool_pre_ping). A 503 with Retry-After says so; a 500 would say the platform is broken.
        try:
            db.session.rollback()
        except SQLAlchemyError:
            db.session.remove()
        log.warning("database unavailable for %s %s: %s", request.method, request.path, exc.orig)
        response = make_response(_render(503, "database_unavailable",
                                         str(_l("数据库暂时无法访问，您的操作没有保存，请稍后重试。"))))
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(UnicodeDecodeError)
    def _bad_encoding(exc: UnicodeDecodeError):
        # Werkzeug decodes the query string strictly when a page first reads it: bytes that are not UTF-8 (from
        # a hand-made request; browsers percent-encode) are the client's error.
        return _render(400, "invalid_encoding")

    @app.errorhandler(InternalServerError)
    def _server_error(exc: InternalServerError):
        return _render(500)
