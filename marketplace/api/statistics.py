"""``GET /api/v1/statistics``: the city's e-commerce figures for the statistics office, with its own token.

Aggregates only, by tenant, category or district, with small cells suppressed (null): no order, buyer or single
merchant can be read from them. The token is a statistics token (``flask api token-statistics``); a shop's token
is not one and is refused like any unknown token.
"""

from __future__ import annotations

from flask import request
from marshmallow import Schema, fields, validate

from marketplace.api import auth, views
from marketplace.api.views import ApiBlueprint
from marketplace.extensions import csrf
from marketplace.reports import definitions, figures

blueprint = ApiBlueprint(
    "api_statistics", __name__, url_prefix="/api/v1/statistics",
    description="电子商务统计（统计部门）：全市按月、季、年或日的交易额、网上零售额、订单、买家、经营者和退款，"
                "可按租户、类目或区域拆分（Authorization: Bearer <统计令牌>）。")
STATISTICS_BEARER = [{"statisticsBearer": []}]

ERRORS = {
    401: "没有有效的统计令牌（code: token_missing, token_invalid）。",
    404: "路径写错了：统计接口只有 /api/v1/statistics 这一个（code: not_found）。",
    422: "统计期或拆分方式无效，errors 逐字段说明（code: validation_failed）。",
}


class StatisticsQuery(Schema):
    period = fields.String(required=True, metadata={
        "description": "统计期：2026-11（月）、2026-Q4（季）、2026（年）或 2026-11-05（日），北京时间。",
        "example": "2026-11"})
    by = fields.String(load_default="tenant", validate=validate.OneOf(definitions.API_BREAKDOWNS), metadata={
        "description": "拆分方式：tenant（租户）、category（商品类目）或 district（区域）。"})


def _values_schema():
    return {key: fields.Integer(allow_none=True, metadata={"description": f"{meta[1]} ({meta[2]}); null: suppressed"})
            for key, meta in definitions.INDICATORS.items()}


Values = Schema.from_dict(_values_schema(), name="StatisticsValues")


class StatisticsRow(Schema):
    key = fields.String(metadata={"description": "租户 slug、类目名称或区域名称（运费一行为 delivery）。"})
    label = fields.String()
    values = fields.Nested(Values)


class StatisticsOut(Schema):
    period = fields.String()
    period_kind = fields.String(metadata={"description": "day | month | quarter | year"})
    by = fields.String()
    currency = fields.String(metadata={"example": "CNY"})
    money_unit = fields.String(metadata={"description": "金额单位：分（fen）。", "example": "fen"})
    min_cell = fields.Integer(metadata={"description": "少于这么多经营者或买家计算出的数据为 null。"})
    form = fields.Dict(metadata={"description": "表号、制定机关、批准或备案文号、有效期。"})
    total = fields.Nested(Values)
    rows = fields.List(fields.Nested(StatisticsRow))
    series = fields.List(fields.Nested(StatisticsRow), metadata={"description": "按日（月、日）或按月（季、年）。"})


def as_json(found: figures.Figures, by: str) -> dict:
    """The figures of one breakdown as the API and the archive give them (money in fen, suppressed cells null)."""
    def row(r: figures.Row) -> dict:
        return {"key": r.key, "label": r.label, "values": dict(r.values)}

    return {"period": found.period.label, "period_kind": found.period.kind, "by": by,
            "currency": definitions.CURRENCY, "money_unit": "fen", "min_cell": definitions.MIN_CELL,
            "form": {k: str(v) for k, v in definitions.FORM.items()}, "total": dict(found.total.values),
            "rows": [row(r) for r in found.breakdowns.get(by, [])], "series": [row(r) for r in found.series]}


@blueprint.before_request
def _authenticate():
    auth.authenticate_statistics(auth.bearer_token(request.headers.get("Authorization")))
    auth.save_last_use()  # before the figures are read: in a read's transaction SQLite may refuse the write


@blueprint.route("")
@blueprint.arguments(StatisticsQuery, location="query", as_kwargs=True)
@blueprint.response(200, StatisticsOut)
@views.documented_errors(blueprint, ERRORS, 401, 404, 422)
@blueprint.doc(security=STATISTICS_BEARER)
def statistics(period: str, by: str = "tenant"):
    """全市电子商务统计

    统计期内付款的订单按首次付款日计入；付款前取消的订单不计；退款按退款日单独列示，不冲减交易额。
    """
    try:
        chosen = definitions.parse_period(period)
    except definitions.PeriodError as error:
        return views.problem_response(422, "validation_failed", errors={"period": str(error)})
    answer = as_json(figures.figures(figures.Scope(), chosen, (by,)), by)
    return answer


views.answer_with_problems(blueprint, tenant=False)


def register(api) -> None:
    api.spec.components.security_scheme("statisticsBearer", {
        "type": "http", "scheme": "bearer",
        "description": "The statistics office's token, from `flask api token-statistics` (shown once)."})
    csrf.exempt(blueprint)  # a bearer token, never a cookie
    api.register_blueprint(blueprint)
