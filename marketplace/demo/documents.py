"""The demo tenants' service agreement and trading rules: one published version each, consulted on and announced
as the law asks (7 days of comment, in force 7 days after publication), so the demo city meets PC-1 to PC-6.

The text is an illustration for the demo, not legal advice.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.tenancy import agreements
from marketplace.tenancy.agreements import DocumentKind, TenantDocument
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant

AGREEMENT = """## 总则
本协议是{name}（以下称“平台”）与平台内经营者、消费者之间关于使用平台服务的约定。

## 进入和退出平台
经营者提交真实的身份、地址、联系方式和行政许可信息，经平台核验、登记后方可开店；经营者可随时申请退出，平台在结清订单和售后后办理，并按法律规定保存其身份信息不少于三年。

## 商品和服务质量保障
经营者保证所售商品符合国家标准和所描述的质量；平台对关系生命健康的商品（如农资、食品）核验资质。

## 消费者权益保护
消费者享有七日无理由退货（法定除外商品除外）、投诉和评价的权利；平台受理投诉并督促经营者处理。

## 个人信息保护
平台和经营者只为完成交易收集必要的个人信息，身份证件号码等敏感信息单独征得同意，不向无关方提供。

## 协议的修改
修改本协议的，平台在首页公开征求意见不少于七日，修改内容至少在实施前七日公示。经营者不接受修改的，可以退出平台，平台不予阻止，并按修改前的协议承担相关责任。
"""

RULES = """## 基本规则
{name}的交易在平台内店铺与买家之间成立，价格以店铺标价、阶梯价或报价为准。

## 责任及风险分担
经营者对其商品和服务承担销售者责任；平台未尽审核义务的，依法承担相应责任。

## 知识产权保护
权利人可以通知平台删除侵权商品；经营者可以提交不侵权声明。

## 信用评价
买家在交易完成后评价，评价不得删除，信用分按公开的规则计算。经营者在国家企业信用信息公示系统中仍在公示的经营异常名录、行政处罚和抽查检查不合格记录扣减信用分（合计最多扣 20 分），列入严重违法失信名单的信用等级为 D。

## 消费者权益保护
支持七日无理由退货，售后纠纷可向平台投诉。

## 信息披露（实名登记与资质审核）
店铺公示营业执照信息和行政许可信息（亮照），平台定期核验。

## 防范和制止违法信息
平台检查商品信息，发现违法信息及时下架、保存记录并报告主管部门。

## 交易纠纷解决
买卖双方协商不成的，可申请平台调解，或向市场监督管理部门投诉。

## 适用范围
本规则适用于在{name}开店的经营者和购物的买家。

## 修改程序
规则修改先公开征求意见不少于七日，公示七日后生效；不接受修改的经营者可以退出，并按修改前的规则承担责任。
"""

TITLES = {DocumentKind.agreement: "{name}平台服务协议", DocumentKind.rules: "{name}交易规则"}
BODIES = {DocumentKind.agreement: AGREEMENT, DocumentKind.rules: RULES}


def load_demo_documents(tenants: list[Tenant]) -> int:
    """Give each tenant without one a published agreement and rules, in force since some days ago. Flushes."""
    now = utcnow()
    created = 0
    for tenant in tenants:
        with tenant_scope(tenant):
            for kind in DocumentKind:
                if db.session.scalar(select(TenantDocument.id).where(TenantDocument.kind == kind.value).limit(1)):
                    continue
                document = agreements.save_draft(tenant, kind.value, title=TITLES[kind].format(name=tenant.name_zh),
                                                 body=BODIES[kind].format(name=tenant.name_zh),
                                                 change_summary="首次公示。", actor_id=None)
                # Dated back through the full procedure, so the demo shows rules already in force.
                agreements.open_consultation(document, now=now - timedelta(days=40))
                agreements.publish(document, effective_at=now - timedelta(days=20), actor_id=None,
                                   now=now - timedelta(days=30))
                created += 1
            db.session.flush()  # inside the scope: the tenant guard checks each row as it is written
    return created
