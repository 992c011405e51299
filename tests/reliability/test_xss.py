"""Cross-site scripting: about 200 hostile payloads in every text a merchant or a resident can write, written
through the platform's own APIs and forms, then every page that shows those texts opened in Chromium as the person
who sees it (a passer-by, the buyer, the merchant, the operator): not one payload runs, none leaves an element
that could run later (an event handler, a javascript: link, a frame), and the payloads read as the text they are.

Each payload calls ``__xss(n)``, ``alert(n)`` (or confirm, prompt) or sets the title to ``XSS<n>`` when it runs;
``n`` names it. Chromium reports every call of ``__xss`` from any frame to the test (an exposed binding), every
dialog, and the title; a scan of each page's elements finds what would run on a click, a hover or a later script.
Long fields hold every payload (spread over their instances); short ones a share of the list, each field from
its own place in it, so that every payload goes through many kinds of field. Texts with control characters (a
NUL) are refused by the interfaces, and that is checked too.
"""

from __future__ import annotations

import http.client
import re
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest
from sqlalchemy import select

from marketplace.accounts import services as accounts
from marketplace.accounts.models import Role, User
from marketplace.api.auth import issue_token
from marketplace.api.scopes import ALL_SCOPES
from marketplace.extensions import db
from marketplace.search.documents import FACET_VALUE_CHARACTERS
from marketplace.shops.models import Shop
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant
from marketplace.tenancy.settings import module_settings
from tests.fixtures.live import CHROMIUM
from tests.fixtures.live import CHROMIUM_SKIP_REASON as SKIP_REASON
from tests.media.samples import encode, picture
from tests.orders.live_server import Browser, Page
from tests.reliability.conftest import SLUG, as_browser

pytestmark = pytest.mark.no_transaction  # the server commits: each case's rows must be there for it

PASSWORD = "correct-horse-42"

#: Payload templates, one a line: "@@" becomes the payload's number, ⏎ a line break and ⇥ a tab.
_TEMPLATES = r"""
<script>__xss(@@)</script>
<SCRIPT>__xss(@@)</SCRIPT>
<ScRiPt>__xss(@@)</sCrIpT>
<script >__xss(@@)</script >
<script type="text/javascript">__xss(@@)</script>
<script type=module>__xss(@@)</script>
<script>alert(@@)</script>
<script>confirm(@@)</script>
<script>prompt(@@)</script>
<script>document.title='XSS@@'</script>
<script>setTimeout('__xss(@@)',0)</script>
<script>eval('__x'+'ss(@@)')</script>
<script>window['__xss'](@@)</script>
<script>top.__xss(@@)</script>
<script>[@@].map(__xss)</script>
<script>__xss(@@)
<script/src="data:text/javascript,__xss(@@)"></script>
<script src=data:,__xss(@@)></script>
<script>/*</script>*/__xss(@@)</script>
<scr<script>ipt>__xss(@@)</scr</script>ipt>
<<script>script>__xss(@@)<</script>/script>
<script x>__xss(@@)</script x>
<img src=x onerror=__xss(@@)>
<img src=x onerror="__xss(@@)">
<img src=x onerror='__xss(@@)'>
<img src=x onerror=`__xss(@@)`>
<IMG SRC=x OnErRoR=__xss(@@)>
<img/src=x/onerror=__xss(@@)>
<img src=x onerror=__xss(@@)//
<img src onerror=__xss(@@)>
<img src="" onerror=alert(@@)>
<img src=x:x onerror=javascript:__xss(@@)>
<img src=x onerror=\u005f_xss(@@)>
<img src=x onerror=&#95;_xss(@@)>
<img src=x onerror=eval(atob('X194c3Mo')+'@@)')>
<img src=x onerror="window.onerror=__xss;throw @@">
<img srcset=x onerror=__xss(@@)>
<image src=x onerror=__xss(@@)>
<svg onload=__xss(@@)>
<svg/onload=__xss(@@)>
<SVG ONLOAD=__xss(@@)>
<svg><script>__xss(@@)</script></svg>
<svg><script href="data:,__xss(@@)"/></svg>
<svg><animate onbegin=__xss(@@) attributeName=x dur=1s>
<svg><set onbegin=__xss(@@) attributeName=x to=1>
<svg><animate attributeName=href values=javascript:__xss(@@) /><a id=x><text y=20>x</text></a></svg>
<svg><a xlink:href="javascript:__xss(@@)"><text y=20>点这里</text></a></svg>
<svg><foreignObject><img src=x onerror=__xss(@@)></foreignObject></svg>
<svg><style><img src=x onerror=__xss(@@)></style></svg>
<svg><use href="data:image/svg+xml,<svg id='a' xmlns='http://www.w3.org/2000/svg'><image onerror='__xss(@@)'/></svg>#a">
<svg><title><img src=x onerror=__xss(@@)></title></svg>
<math><mtext><table><mglyph><style><img src=x onerror=__xss(@@)>
<math><maction actiontype=statusline xlink:href=javascript:__xss(@@)>x</maction></math>
<body onload=__xss(@@)>
<body onpageshow=__xss(@@)>
<body onfocus=__xss(@@) autofocus>
<details open ontoggle=__xss(@@)>
<details/open/ontoggle="__xss(@@)"><summary>详情</summary></details>
<video src=x onerror=__xss(@@)></video>
<video><source onerror=__xss(@@)></video>
<audio src=x onerror=__xss(@@)>
<video poster=javascript:__xss(@@)></video>
<input autofocus onfocus=__xss(@@)>
<input onfocus=__xss(@@) autofocus value=搜索>
<textarea autofocus onfocus=__xss(@@)>x</textarea>
<select autofocus onfocus=__xss(@@)></select>
<keygen autofocus onfocus=__xss(@@)>
<marquee onstart=__xss(@@)>滚动</marquee>
<div onmouseover=__xss(@@) style="position:fixed;inset:0">x</div>
<a onmouseover=__xss(@@)>悬停</a>
<div contenteditable onfocus=__xss(@@) autofocus>x</div>
<object data=javascript:__xss(@@)></object>
<object data="data:text/html,<script>parent.__xss(@@)</script>"></object>
<embed src="data:text/html,<script>parent.__xss(@@)</script>">
<embed src=javascript:__xss(@@)>
<iframe src=javascript:__xss(@@)></iframe>
<iframe src="javascript:parent.__xss(@@)"></iframe>
<iframe srcdoc="<script>parent.__xss(@@)</script>"></iframe>
<iframe srcdoc="&lt;img src=x onerror=parent.__xss(@@)&gt;"></iframe>
<iframe onload=__xss(@@)></iframe>
<iframe src="data:text/html,<script>parent.__xss(@@)</script>"></iframe>
<frameset onload=__xss(@@)>
<meta http-equiv="refresh" content="0;url=javascript:__xss(@@)">
<meta http-equiv=refresh content="0; url=data:text/html,<script>__xss(@@)</script>">
<base href="javascript:__xss(@@)//">
<link rel=stylesheet href="javascript:__xss(@@)">
<link rel=import href="data:text/html,<script>__xss(@@)</script>">
<a href="javascript:__xss(@@)">点击领取优惠券</a>
<a href=javascript:__xss(@@)>x</a>
<a href="JaVaScRiPt:__xss(@@)">x</a>
<a href="  javascript:__xss(@@)">x</a>
<a href="java&#x09;script:__xss(@@)">x</a>
<a href="java&#10;script:__xss(@@)">x</a>
<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;__xss(@@)">x</a>
<a href="&#x6A;avascript&colon;__xss(@@)">x</a>
<a href="javascript%3A__xss(@@)">x</a>
<a href="vbscript:__xss(@@)">x</a>
<a href="data:text/html;base64,PHNjcmlwdD5fX3hzcygpPC9zY3JpcHQ+#@@">x</a>
<a href="data:text/html,<script>__xss(@@)</script>">x</a>
<a href=# onclick=__xss(@@)>x</a>
<a href="http://example.com/" onclick="__xss(@@)">example</a>
<a href="https://example.com/" title="x" onmouseover="__xss(@@)">合法链接</a>
<form action=javascript:__xss(@@)><button>提交</button></form>
<form><button formaction=javascript:__xss(@@)>提交</button></form>
<form><input type=submit formaction="javascript:__xss(@@)" value=提交></form>
<form id=f@@></form><button form=f@@ formaction=javascript:__xss(@@)>x</button>
<isindex type=image src=1 onerror=__xss(@@)>
"><script>__xss(@@)</script>
"><img src=x onerror=__xss(@@)>
'><img src=x onerror=__xss(@@)>
" onmouseover="__xss(@@)
' onmouseover='__xss(@@)
" autofocus onfocus="__xss(@@)
' autofocus onfocus='__xss(@@)' x='
` onmouseover=`__xss(@@)
" onerror="__xss(@@)" src="x
x" style="x:expression(__xss(@@))
" accesskey="x" onclick="__xss(@@)
x onmouseover=__xss(@@)
"/><svg onload=__xss(@@)>
'/><svg/onload=__xss(@@)>
"><iframe srcdoc="<script>parent.__xss(@@)</script>">
"></a><a href="javascript:__xss(@@)">x</a>
"><input autofocus onfocus=__xss(@@)>
&quot;&gt;&lt;script&gt;__xss(@@)&lt;/script&gt;
</title><script>__xss(@@)</script>
</textarea><script>__xss(@@)</script>
</style><script>__xss(@@)</script>
</noscript><script>__xss(@@)</script>
</script><script>__xss(@@)</script>
--><script>__xss(@@)</script>
<!--><script>__xss(@@)</script>-->
]]><script>__xss(@@)</script>
</option></select><img src=x onerror=__xss(@@)>
</td></tr></table><img src=x onerror=__xss(@@)>
</p></div><svg onload=__xss(@@)>
</xmp><script>__xss(@@)</script>
</plaintext><script>__xss(@@)</script>
</iframe><script>__xss(@@)</script>
<noscript><p title="</noscript><img src=x onerror=__xss(@@)>">
<svg></p><style><a id="</style><img src=1 onerror=__xss(@@)>">
<svg><p><style><g title="</style><img src=x onerror=__xss(@@)>">
<img src="x` `<script>__xss(@@)</script>"` `>
<a title="a&quot;><img src=x onerror=__xss(@@)>">x</a>
<img "'"><script>__xss(@@)</script>">
<![CDATA[<script>__xss(@@)</script>]]>
<?xml version="1.0"?><script>__xss(@@)</script>
';__xss(@@);//
";__xss(@@);//
\';__xss(@@);//
"-__xss(@@)-"
'-__xss(@@)-'
`${__xss(@@)}`
${__xss(@@)}
{{7*7}}{{__xss(@@)}}
{{constructor.constructor('__xss(@@)')()}}
{{$on.constructor('__xss(@@)')()}}
<div ng-app>{{constructor.constructor('__xss(@@)')()}}</div>
{% print(__xss(@@)) %}
<%= __xss(@@) %>
#{__xss(@@)}
[[${__xss(@@)}]]
{{{__xss(@@)}}}
<div v-html="'<img src=x onerror=__xss(@@)>'"></div>
&lt;script&gt;__xss(@@)&lt;/script&gt;
&#60;script&#62;__xss(@@)&#60;/script&#62;
&#x3c;img src=x onerror=__xss(@@)&#x3e;
&#0000060;script&#0000062;__xss(@@)
%3Cscript%3E__xss(@@)%3C%2Fscript%3E
%253Cscript%253E__xss(@@)%253C%252Fscript%253E
\u003cscript\u003e__xss(@@)\u003c/script\u003e
\x3cscript\x3e__xss(@@)\x3c/script\x3e
+ADw-script+AD4-__xss(@@)+ADw-/script+AD4-
＜script＞__xss(@@)＜/script＞
<scrİpt>__xss(@@)</scrİpt>
<script>__xss(@@)&#0;</script>
<img src=x%00 onerror=__xss(@@)>
<scr%00ipt>__xss(@@)</scr%00ipt>
<a href="javascript&#0;:__xss(@@)">x</a>
<style>@import 'javascript:__xss(@@)';</style>
<style>*{background:url("javascript:__xss(@@)")}</style>
<div style="background-image:url(javascript:__xss(@@))">x</div>
<div style="width:expression(__xss(@@))">x</div>
<style>li{list-style-image:url("javascript:__xss(@@)")}</style><ul><li>x</li></ul>
<style onload=__xss(@@)></style>
<link rel=stylesheet href=x onerror=__xss(@@)>
<div style="x:\65xpression(__xss(@@))">x</div>
<p style="animation-name:x" onanimationstart=__xss(@@)>x</p><style>@keyframes x{}</style>
<p style="transition:color 1s" ontransitionend=__xss(@@)>x</p>
<table background="javascript:__xss(@@)"><tr><td>x</td></tr></table>
<td background=javascript:__xss(@@)>
<bgsound src=javascript:__xss(@@)>
<xss id=x tabindex=1 onfocus=__xss(@@)></xss>
<button popovertarget=p@@>x</button><div popover id=p@@ onbeforetoggle=__xss(@@)>x</div>
<svg><animate attributeName=x dur=1s repeatCount=2 onrepeat=__xss(@@)></svg>
<img src=x onerror=top['\x5f\x5fxss'](@@)>
<img src=x onerror=window[`__xss`](@@)>
<img src=x onerror=self['__x'+'ss'](@@)>
<img src=x onerror=Function('__xss(@@)')()>
<img src=x onerror=setTimeout`__xss\x28@@\x29`>
<img src=x onerror=import('data:text/javascript,__xss(@@)')>
好评！<script>__xss(@@)</script>非常满意
东西不错<img src=x onerror=__xss(@@)>下次还来
请尽快发货"><svg onload=__xss(@@)>谢谢
河南省郑州市二七区德化街<script>__xss(@@)</script>8号
张三<img src=x onerror=alert(@@)>丰
老王水果店</title><script>__xss(@@)</script>
商品质量有问题 ' onmouseover='__xss(@@)' 要求退款
下午来取，<a href="javascript:__xss(@@)">联系我</a>
【限时特价】<iframe srcdoc="<script>parent.__xss(@@)</script>"></iframe>
手机：138<script>__xss(@@)</script>0000
￥99<details open ontoggle=__xss(@@)>详情</details>
新疆哈密瓜 5斤装 <svg/onload=__xss(@@)>
jAvAsCrIpT:/*--></tItLe></sTyLe></tExTaReA></sCrIpT>*/__xss(@@)//'"`><sVg/oNlOaD=__xss(@@)>
'"><img src=x onerror=__xss(@@)>{{__xss(@@)}}${__xss(@@)}
"'--></style></script><script>__xss(@@)</script>
'"`><\x3csvg onload=__xss(@@)>
<</p>iframe src=javascript:__xss(@@)//<</p>/iframe>
<img src=`x`onerror=__xss(@@)>
<img src=x onerror⏎=__xss(@@)>
<svg⇥onload=__xss(@@)>
<img⏎src=x⏎onerror=__xss(@@)>
"""


def _numbered(templates: str) -> list[str]:
    lines = templates.strip("\n").split("\n")
    return [line.replace("@@", str(n)).replace("⏎", "\n").replace("⇥", "\t") for n, line in enumerate(lines)]


PAYLOADS = _numbered(_TEMPLATES)
#: With control characters, which no interface stores (PostgreSQL cannot hold a NUL): each is refused whole.
CONTROL_PAYLOADS = ["<scr\x00ipt>__xss(900)</script>", "<img src=x onerror=__xss(901)\x00>",
                    "\x00<svg onload=__xss(902)>", '<a href="java\x00script:__xss(903)">x</a>',
                    "\x1b<script>__xss(904)</script>", "<img src=x\x0bonerror=__xss(905)>"]

OPERATOR, NEWCOMER = "operator@reliable.example", "newcomer@reliable.example"
#: Residents of the seeded street (conftest) with a part each.
BUYER, SHIPPED_BUYER, CANCELLER, REFUSED_BUYER = 480, 481, 482, 483
APPLICANTS = (485, 486, 487)
#: The shop of each product: 15 in shop 0 and 3 in shop 1, one listing page (storefront.queries.PAGE_SIZE).
PRODUCTS = [0] * 15 + [1] * 3
#: Searches (reflected on the results page, listed for the operator); the first few also city-wide.
QUERIES, CITY_QUERIES = 6, 2
#: Payloads (by how they start) put in a page unescaped before the case, to show that the test sees them run.
CANARIES = ("<script>__xss(", "<script>alert(", "<script>document.title=", "<img src=x onerror=__xss(",
            '<iframe srcdoc="<script>parent.', "<details open ontoggle=", "<svg onload=")
#: How long a page is watched once loaded: timers, animations, autofocus and frames get their turn.
SETTLE_MS = 50
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Payloads:
    """Hands out the payloads in turn, packed into each text up to the field's length. Each kind of field keeps its
    own place in the list, each new kind starting elsewhere: a kind with room for the whole list gets every payload,
    short ones get different shares."""

    def __init__(self):
        self.place: dict[str, int] = {}
        self.fields: dict[str, set[int]] = defaultdict(set)

    def text(self, kind: str, limit: int, *, lead: str = "", one_line: bool = False) -> str:
        separator = " " if one_line else "\n"
        place = self.place.setdefault(kind, 37 * len(self.place) % len(PAYLOADS))
        parts, length = ([lead] if lead else []), len(lead)
        for number in (n % len(PAYLOADS) for n in range(place, place + len(PAYLOADS))):
            payload = " ".join(PAYLOADS[number].split()) if one_line else PAYLOADS[number]
            needed = len(payload) + (len(separator) if parts else 0)
            if length + needed > limit:
                if len(parts) > bool(lead):
                    break
                continue  # longer than the field: the next one that fits
            parts.append(payload)
            length += needed
            self.fields[kind].add(number)
            place = number + 1
        self.place[kind] = place
        return separator.join(parts)


def shown(text: str) -> str:
    """Text as a reader sees it, whitespace collapsed (how a page's words are compared with what was written)."""
    return " ".join(text.split())


# -- writing, through the platform's APIs and forms -------------------------------------------------------------------

@dataclass
class Product:
    id: int
    shop: int
    title: str
    brand: str
    variants: list[int]


@dataclass
class Written:
    """What the case wrote, as the platform stored it, and where: the pages look for these texts."""

    keys: list[str]  # a key with every scope, per shop
    sessions: dict[str, Browser] = field(default_factory=dict)  # signed-in browsers, by e-mail
    products: list[Product] = field(default_factory=list)
    shop_names: list[str] = field(default_factory=list)
    shop_names_en: list[str] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)  # resident (0: the newcomer) → display name
    addresses: list[str] = field(default_factory=list)  # recipients and streets
    orders: dict[str, tuple[str, str, int]] = field(default_factory=dict)  # what → (group, order, shop)
    notes: list[str] = field(default_factory=list)
    tracking: tuple[str, str, str] = ("", "", "")  # (token, the last step's place, its note)
    reviews: list[str] = field(default_factory=list)
    complaints: list[tuple[str, int, str]] = field(default_factory=list)  # (number, shop, description)
    returns: list[tuple[int, int, str]] = field(default_factory=list)  # (id, shop, reason)
    applications: list[str] = field(default_factory=list)  # shop names asked for
    queries: list[str] = field(default_factory=list)
    licences: list[str] = field(default_factory=list)  # licence numbers
    key_names: tuple[str, str] = ("", "")  # (the shop's API key, the resident's personal token)
    comments: list[str] = field(default_factory=list)  # on the street's rules, open for comment
    ip_notice: tuple[str, str, str] = ("", "", "")  # (number, the holder's description, the shop's statement)
    verification: list[str] = field(default_factory=list)  # a merchant's identity as filed for the operator
    refused: Counter = field(default_factory=Counter)  # texts with control characters refused, by status

    def session(self, platform, email: str) -> Browser:
        if email not in self.sessions:
            browser = Browser(platform.server.port)
            browser.login(email, PASSWORD)
            self.sessions[email] = browser
        return self.sessions[email]

    def titles(self, shop: int | None = None) -> list[str]:
        return [product.title for product in self.products if shop in (None, product.shop)]


def api(platform, token: str, method: str, path: str, body: dict | None = None, *, expect=(200, 201)):
    answer = platform.call(method, path, token, body, key=uuid.uuid4().hex)
    assert answer.status in expect, f"{method} {path}: {answer.status} {answer.text[:800]}"
    return answer.body


def submit(browser: Browser, form_page: str, action: str, fields: dict, *, expect=(302, 303),
           token: str | None = None) -> Page:
    """Post a form as a browser does: with the CSRF token of the page that shows it (``token``: already read)."""
    page = browser.post(action, {"csrf_token": token or browser.get(form_page).csrf_token(), **fields})
    assert page.status in expect, f"POST {action}: {page.summary()}"
    return page


def post_with_picture(browser: Browser, action: str, token: str, fields: dict, picture_field: str) -> str:
    """A form with a real JPEG attached, as a browser sends it (multipart); returns where it redirected to."""
    boundary = uuid.uuid4().hex
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
                    for name, value in {"csrf_token": token, **fields}.items())
    body += (f'--{boundary}\r\nContent-Disposition: form-data; name="{picture_field}"; filename="tea.jpg"\r\n'
             "Content-Type: image/jpeg\r\n\r\n").encode() + encode(picture(320, 200), "JPEG")
    body += f"\r\n--{boundary}--\r\n".encode()
    connection = http.client.HTTPConnection("127.0.0.1", browser.port, timeout=120)
    try:
        connection.request("POST", action, body=body, headers={
            **as_browser(browser), "Content-Type": f"multipart/form-data; boundary={boundary}"})
        response = connection.getresponse()
        response.read()
        assert response.status == 303, f"POST {action}: {response.status}"
        return response.getheader("Location", "")
    finally:
        connection.close()


def equip(platform) -> list[str]:
    """What an operator sets up, not what merchants or residents write: a key with every scope for shops 0 and 1,
    express delivery beside pickup, and an operator account for the console. Returns the keys."""
    with platform.app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == SLUG))
        with tenant_scope(tenant):
            keys = []
            for n, (shop_id, _slug, _key) in enumerate(platform.shops[:2]):
                shop = db.session.get(Shop, shop_id)
                shop.delivery = {"providers": ["pickup", "express"]}
                owner = db.session.scalar(select(User).where(User.email == f"merchant{n}@reliable.example"))
                keys.append(issue_token(owner, shop, "xss", list(ALL_SCOPES)))
            module_settings["delivery"].set(tenant, "options", {"pickup": {}, "express": {}})
            # The street theme draws the street (an SVG the platform writes itself) with each placed shop's name.
            tenant.theme = "street"
            tenant.layout = {"street": {"zh": "可靠路", "en": "Reliable Road"}, "length_m": 120}
            for n, (shop_id, _slug, _key) in enumerate(platform.shops):
                shop = db.session.get(Shop, shop_id)
                shop.street_side, shop.street_number, shop.map_x, shop.map_width = (
                    ("west", "east")[n % 2], str(n + 1), 10.0 + 30 * n, 12.0)
            operator = accounts.register_user(OPERATOR, PASSWORD, "街区运营")
            accounts.grant_role(operator, Role.tenant_operator, tenant=tenant)
            db.session.commit()
    return keys


def write_shops(platform, payloads: Payloads, written: Written) -> None:
    """The merchant console's shop profile, both shops: names, descriptions (rich text) and the legal name."""
    for n in range(2):
        merchant = written.session(platform, f"merchant{n}@reliable.example")
        name = payloads.text("shop name", 200, lead=f"商店{n} ", one_line=True)
        profile = f"/merchant/{SLUG}/shop-{n}/profile"
        name_en = payloads.text("shop name (English)", 200, lead=f"Shop {n} ", one_line=True)
        submit(merchant, profile, profile, {
            "name_zh": name, "name_en": name_en,
            "description_zh": payloads.text("shop description", 5000),
            "description_en": payloads.text("shop description (English)", 5000),
            "phone": "0371-6666 8888", "legal_name": payloads.text("legal name", 200, one_line=True),
            "registration_number": "92410103MA9DEM001K", **{f"hours_{day}": "09:00-21:00" for day in WEEKDAYS}})
        written.shop_names.append(name)
        written.shop_names_en.append(name_en)
    merchant = written.session(platform, "merchant2@reliable.example")
    profile = f"/merchant/{SLUG}/shop-2/profile"
    for payload in CONTROL_PAYLOADS[:2]:
        refused = submit(merchant, profile, profile, {
            "name_zh": f"商店 {payload}", "legal_name": "可靠商户2", "registration_number": "92410103MA9DEM001K"},
            expect=(400,))
        written.refused[refused.status] += 1


def write_products(platform, payloads: Payloads, written: Written) -> None:
    """Products through the shop API (title, description, three attributes, two options per variant) and a
    picture each for three of them through the console, with its alternative text."""
    for n, shop in enumerate(PRODUCTS):
        product = api(platform, written.keys[shop], "POST", f"/shops/shop-{shop}/products", {
            "category": "goods", "title": payloads.text("product title", 200, lead=f"测试商品{n} XSS ", one_line=True),
            "description": payloads.text("product description", 3000),
            "attributes": {name: payloads.text(f"attribute {name}", 100, one_line=True)
                           for name in ("brand", "origin", "model")},
            "variants": [{"sku": f"XSS-{uuid.uuid4().hex[:10]}", "price": 990 + v, "stock": 50, "weight_g": 400,
                          "options": {option: payloads.text(f"option {option}", 100, one_line=True)
                                      for option in ("spec", "colour")}} for v in range(2)],
            "publish": True})
        brand = next(attribute["value"] for attribute in product["attributes"] if attribute["name"] == "brand")
        written.products.append(Product(product["id"], shop, product["title"], brand,
                                        [variant["id"] for variant in product["variants"]]))
        platform.initial_stock.update({variant["id"]: 50 for variant in product["variants"]})
    for payload in CONTROL_PAYLOADS:
        refused = platform.call("POST", "/shops/shop-0/products", written.keys[0], {
            "category": "goods", "title": f"测试 {payload}", "description": payload,
            "variants": [{"sku": f"XSS-{uuid.uuid4().hex[:10]}", "price": 100}]}, key=uuid.uuid4().hex)
        assert refused.status == 422, refused.text
        written.refused[refused.status] += 1
    merchant = written.session(platform, "merchant0@reliable.example")
    for product in written.products[:3]:
        base = f"/merchant/{SLUG}/shop-0/products/{product.id}"
        post_with_picture(merchant, f"{base}/images", merchant.get(f"{base}/edit").csrf_token(),
                          {"alt": payloads.text("picture alt", 200, one_line=True)}, "images")


def write_people(platform, payloads: Payloads, written: Written) -> None:
    """Display names on the account page (one at sign-up too), addresses in the address book."""
    for resident in (BUYER, SHIPPED_BUYER, CANCELLER, REFUSED_BUYER, *APPLICANTS):
        browser = written.session(platform, f"resident{resident:03d}@reliable.example")
        name = payloads.text("display name", 100, one_line=True)
        submit(browser, "/account/", "/account/", {"display_name": name, "locale": "zh_CN"})
        written.names[resident] = name
    newcomer = written.sessions[NEWCOMER] = Browser(platform.server.port)
    name = payloads.text("display name", 100, one_line=True)
    submit(newcomer, "/account/signup", "/account/signup", {
        "identifier": NEWCOMER, "password": PASSWORD, "confirm": PASSWORD, "display_name": name})
    written.names[0] = name
    refused = submit(newcomer, "/account/", "/account/", {"display_name": CONTROL_PAYLOADS[0], "locale": "zh_CN"},
                     expect=(400,))
    written.refused[refused.status] += 1
    browser = written.session(platform, f"resident{SHIPPED_BUYER:03d}@reliable.example")
    for _ in range(4):
        recipient = payloads.text("address recipient", 50, one_line=True)
        street = payloads.text("address street", 200, one_line=True)
        submit(browser, "/account/addresses/new", "/account/addresses/new", {
            "recipient": recipient, "mobile": "13812345678", "province_code": "410000", "city_code": "410100",
            "district_code": "410103", "street": street, "postcode": "", "make_default": "y"})
        written.addresses += [recipient, street]


def fill_cart(platform, resident: int, products: list[Product]) -> None:
    platform.empty_cart(resident)
    for product in products:
        assert platform.add_to_cart(resident, product.variants[0]).status == 200


def checkout(platform, written: Written, resident: int, products: list[Product] | None, **choices) -> dict:
    """Place an order group of ``products`` (None: what the cart holds), remembering its notes as stored."""
    if products is not None:
        fill_cart(platform, resident, products)
    group = api(platform, platform.residents[resident], "POST", "/checkout", {"confirm_exclusions": True, **choices},
                expect=(201,))
    written.notes += [order["note"] for order in group["orders"] if order["note"]]
    return group


def move(platform, written: Written, shop: int, order: str, *actions: str, **details) -> None:
    for action in actions:
        api(platform, written.keys[shop], "POST", f"/shops/shop-{shop}/orders/{order}/transitions",
            {"action": action, **details})


def write_orders(platform, payloads: Payloads, written: Written) -> None:
    """Orders with a note to each shop: one group of every product taken to completion (collected), one sent by
    express with tracking steps (their place and note), one cancelled by the buyer and one refused by the shop,
    each with a reason."""
    group = checkout(platform, written, BUYER, written.products,
                     notes={f"shop-{n}": payloads.text("order note", 500) for n in range(2)})
    for order in group["orders"]:
        shop = int(order["shop"]["slug"].removeprefix("shop-"))
        written.orders[f"bought {shop}"] = (group["number"], order["number"], shop)
        shipment = api(platform, platform.residents[BUYER], "GET",
                       f"/orders/{group['number']}/orders/{order['number']}/shipment")
        move(platform, written, shop, order["number"], "confirm_payment", "accept", "prepared")
        move(platform, written, shop, order["number"], "picked_up", code=shipment["pickup_code"])
        move(platform, written, shop, order["number"], "complete")

    browser = written.session(platform, f"resident{SHIPPED_BUYER:03d}@reliable.example")
    address_id = max(map(int, re.findall(r"/account/addresses/(\d+)/edit", browser.get("/account/addresses/").body)))
    fill_cart(platform, SHIPPED_BUYER, written.products[4:5])
    options = api(platform, platform.residents[SHIPPED_BUYER], "GET", f"/cart/delivery-options?address_id={address_id}")
    express = next(option for shop in options["shops"] for option in shop["options"] if option["provider"] == "express")
    group = checkout(platform, written, SHIPPED_BUYER, None, address_id=address_id,
                     delivery={"shop-0": f"express:{express['code']}"},
                     notes={"shop-0": payloads.text("order note", 500)})
    group_number, order = group["number"], group["orders"][0]["number"]
    written.orders["shipped"] = (group_number, order, 0)
    move(platform, written, 0, order, "confirm_payment", "accept")
    shipment = f"/shops/shop-0/orders/{order}/shipment"
    api(platform, written.keys[0], "POST", f"{shipment}/ship",
        {"carrier": "中通快递", "tracking_number": "ZT7500123456789"})
    for status in ("in_transit", "out_for_delivery"):
        step = {"status": status, "location": payloads.text("tracking place", 200, one_line=True),
                "note": payloads.text("tracking note", 1000)}
        api(platform, written.keys[0], "POST", f"{shipment}/events", step)
    tracking = api(platform, platform.residents[SHIPPED_BUYER], "GET",
                   f"/orders/{group_number}/orders/{order}/shipment")
    written.tracking = (tracking["tracking_token"], step["location"], step["note"])

    group = checkout(platform, written, CANCELLER, written.products[:2],
                     notes={"shop-0": payloads.text("order note", 500)})
    order = group["orders"][0]["number"]
    written.orders["cancelled"] = (group["number"], order, 0)
    api(platform, platform.residents[CANCELLER], "POST", f"/orders/{group['number']}/orders/{order}/cancel",
        {"reason": payloads.text("cancellation reason", 500)})
    group = checkout(platform, written, REFUSED_BUYER, written.products[2:4],
                     notes={"shop-0": payloads.text("order note", 500)})
    order = group["orders"][0]["number"]
    written.orders["refused"] = (group["number"], order, 0)
    move(platform, written, 0, order, "confirm_payment")
    move(platform, written, 0, order, "reject", reason=payloads.text("refusal reason", 500))

    fill_cart(platform, CANCELLER, written.products[:1])
    refused = platform.call("POST", "/checkout", platform.residents[CANCELLER], {
        "confirm_exclusions": True, "notes": {"shop-0": CONTROL_PAYLOADS[1]}}, key=uuid.uuid4().hex)
    assert refused.status == 422, refused.text
    written.refused[refused.status] += 1
    platform.empty_cart(CANCELLER)
    fill_cart(platform, SHIPPED_BUYER, written.products)  # left in the cart: the cart and checkout pages show it


def write_after_sales(platform, payloads: Payloads, written: Written) -> None:
    """On the completed orders: a review of every line and the shop's reply, a complaint on each order with the
    shop's answer (one escalated to the operator), and a return with a reason (approved with a return address,
    or refused with a reason)."""
    token = platform.residents[BUYER]
    for what in ("bought 0", "bought 1"):
        group, number, shop = written.orders[what]
        lines = next(order for order in api(platform, token, "GET", f"/orders/{group}")["orders"]
                     if order["number"] == number)["lines"]
        merchant = written.session(platform, f"merchant{shop}@reliable.example")
        reviews = f"/merchant/{SLUG}/shop-{shop}/reviews"
        csrf = merchant.get(reviews).csrf_token()
        for line in lines:
            review = api(platform, token, "POST", f"/orders/{group}/orders/{number}/lines/{line['id']}/review", {
                "ratings": {"product": 1, "described": 2, "service": 3, "delivery": 4},
                "text": payloads.text("review", 1000)}, expect=(201,))
            written.reviews.append(review["text"])
            submit(merchant, reviews, f"{reviews}/{review['id']}/reply", {"reply": payloads.text("review reply", 1000)},
                   token=csrf)
        complaint = api(platform, token, "POST", f"/orders/{group}/orders/{number}/complaint", {
            "category": "quality", "description": payloads.text("complaint", 2000), "claim": "other",
            "claim_detail": payloads.text("complaint claim", 500),
            "complainant_address": payloads.text("complainant address", 300, one_line=True)}, expect=(201,))
        written.complaints.append((complaint["number"], shop, complaint["description"]))
        api(platform, written.keys[shop], "POST", f"/shops/shop-{shop}/complaints/{complaint['number']}/answer",
            {"answer": payloads.text("complaint answer", 2000)})
        if shop == 0:
            api(platform, token, "POST", f"/complaints/{complaint['number']}/escalate",
                {"reason": payloads.text("escalation reason", 2000)})
        asked = api(platform, token, "POST", f"/orders/{group}/orders/{number}/returns", {
            "lines": {str(lines[0]["id"]): 1}, "no_reason": False, "reason": payloads.text("return reason", 1000)},
            expect=(201,))
        decision = ({"action": "approve", "return_address": payloads.text("return address", 500)} if shop == 0 else
                    {"action": "reject", "reason": payloads.text("return refusal", 1000)})
        api(platform, written.keys[shop], "POST", f"/shops/shop-{shop}/returns/{asked['id']}/decisions", decision)
        written.returns.append((asked["id"], shop, asked["reason"]))


def write_applications(platform, payloads: Payloads, written: Written) -> None:
    """Residents asking for a shop in the street (the join form), which the operator reads."""
    for resident in APPLICANTS:
        browser = written.session(platform, f"resident{resident:03d}@reliable.example")
        name = payloads.text("application shop name", 200, one_line=True)
        submit(browser, f"/t/{SLUG}/join", f"/t/{SLUG}/join", {
            "kind": "natural_person", "legal_name": payloads.text("application legal name", 200, one_line=True),
            "contact_name": payloads.text("application contact", 100, one_line=True), "contact_phone": "13812345678",
            "shop_name_zh": name, "shop_name_en": payloads.text("application shop name", 200, one_line=True),
            "slug": f"xss-{resident}", "wished_place": payloads.text("application place", 100, one_line=True),
            "note": payloads.text("application note", 1000)})
        written.applications.append(name)


def write_queries(platform, payloads: Payloads, written: Written) -> None:
    """Searches (up to 100 characters are searched: search.services.MAX_QUERY_CHARACTERS), made early so that the
    workers have written them to the operator's search log (every SEARCH_STATS_FLUSH_S) by the time it is read."""
    searcher = written.session(platform, f"resident{CANCELLER:03d}@reliable.example")
    for _ in range(QUERIES):
        query = payloads.text("search query", 100, one_line=True)
        assert searcher.get(f"/t/{SLUG}/search?q={quote(query)}").status == 200
        written.queries.append(query)


def write_the_rest(platform, payloads: Payloads, written: Written) -> None:
    """Licence numbers (shown to everyone), the names of a shop's API key and of a resident's personal token (shown
    to their owners), comments on the street's rules open for comment and a merchant's verification application
    (read by the operator), and an intellectual property notice: filed by a resident, acted on by the operator,
    answered by the shop with a statement."""
    merchant = written.session(platform, "merchant0@reliable.example")
    licences = f"/merchant/{SLUG}/shop-0/licences"
    for kind in re.findall(r'<option value="([^"]+)"', merchant.get(licences).body):
        number = payloads.text("licence number", 100, one_line=True)
        submit(merchant, licences, licences, {"kind": kind, "number": number, "expires_on": ""})
        written.licences.append(number)
    keys = f"/merchant/{SLUG}/shop-0/api-keys"
    key_name = payloads.text("API key name", 100, one_line=True)
    submit(merchant, keys, keys, {"name": key_name, "scopes": "catalog:read"}, expect=(200, 201, 303))
    resident = written.session(platform, f"resident{BUYER:03d}@reliable.example")
    token_name = payloads.text("personal token name", 100, one_line=True)
    submit(resident, "/account/tokens", "/account/tokens", {"name": token_name, "scopes": "purchases:read",
                                                             "expires": "30"}, expect=(200, 201, 303))
    written.key_names = (key_name, token_name)

    operator = written.session(platform, OPERATOR)
    documents = f"/operator/{SLUG}/documents"
    submit(operator, documents, documents, {"kind": "rules", "title": "可靠街交易规则（修订征求意见稿）",
                                            "body": "## 总则\n商家应如实描述商品。", "change_summary": "修订"})
    document = max(map(int, re.findall(r"/documents/(\d+)/consult", operator.get(documents).body)))
    submit(operator, documents, f"{documents}/{document}/consult", {})
    for who in (resident, merchant):
        comment = payloads.text("comment on the rules", 2000)
        submit(who, f"/t/{SLUG}/rules", f"/t/{SLUG}/documents/{document}/comments", {"comment": comment})
        written.comments.append(comment)

    product = api(platform, written.keys[0], "POST", "/shops/shop-0/products", {
        "category": "goods", "title": payloads.text("product title", 200, lead="仿冒商品 ", one_line=True),
        "variants": [{"sku": f"XSS-{uuid.uuid4().hex[:10]}", "price": 990, "stock": 5}], "publish": True})
    platform.initial_stock[product["variants"][0]["id"]] = 5
    holder = written.session(platform, f"resident{APPLICANTS[1]:03d}@reliable.example")
    form = f"/t/{SLUG}/ip-notices/new/{product['id']}"
    description = payloads.text("IP notice", 2000)
    filed = post_with_picture(holder, form, holder.get(form).csrf_token(), {
        "right_kind": "trademark", "right_number": payloads.text("IP right number", 100, one_line=True),
        "holder_name": payloads.text("IP holder", 100, one_line=True), "description": description,
        "contact": payloads.text("IP contact", 100, one_line=True), "warned": "1"}, "photos")
    number = filed.rstrip("/").rsplit("/", 1)[-1]
    review = f"/operator/{SLUG}/ip-notices/{number}"
    submit(operator, review, f"{review}/review", {"decision": "take_down", "note": "初步证据成立，先下架。"})
    answer = f"/merchant/{SLUG}/shop-0/ip-notices/{number}"
    statement = payloads.text("IP counter statement", 2000)
    post_with_picture(merchant, f"{answer}/counter", merchant.get(answer).csrf_token(), {"statement": statement},
                      "photos")
    written.ip_notice = (number, description, statement)

    applicant = written.session(platform, "merchant2@reliable.example")
    verification = f"/merchant/{SLUG}/shop-2/verification"
    identity = {"legal_name": payloads.text("verification legal name", 200, one_line=True),
                "entity_type": payloads.text("verification entity type", 64, one_line=True),
                "registered_capital": payloads.text("verification capital", 64, one_line=True),
                "legal_representative": payloads.text("verification representative", 100, one_line=True),
                "contact_name": payloads.text("verification contact", 100, one_line=True),
                "business_address": payloads.text("verification address", 300, one_line=True)}
    post_with_picture(applicant, verification, applicant.get(verification).csrf_token(), {
        "kind": "enterprise", "registration_number": "91110108551385082Q", "contact_phone": "13800138000",
        "note": payloads.text("verification note", 500), **identity}, "licence_image")
    written.verification = [identity["legal_name"], identity["business_address"]]


# -- reading, in Chromium ---------------------------------------------------------------------------------------------

#: Before any script of the page, in every frame: a payload that runs reports itself to the test.
RECORD_RUNS = "window.__xss = function (n) { window.__xssRan(String(n)); };"
#: What would run later: elements that carry script (event handlers, javascript:/data: URLs, frames, inline
#: scripts), a refresh, a style that loads script. The platform's own: scripts from its origin, window.print().
#: And the page's words: its text, form values, alt and title texts, to compare with what was written.
SCAN = r"""() => {
  const urls = new Set(["href", "src", "action", "formaction", "data", "xlink:href", "background", "poster",
                        "codebase", "lowsrc", "dynsrc", "srcset", "values", "to", "from", "by", "ping"]);
  const armed = [];
  const note = (el, what) => armed.push((el.localName + " " + what).slice(0, 160));
  for (const el of document.querySelectorAll("*")) {
    const tag = el.localName;
    if (["iframe", "frame", "frameset", "object", "embed", "applet", "base", "portal", "bgsound"].includes(tag)) {
      note(el, "");
    }
    if (tag === "script" && !(el.src && new URL(el.src).origin === location.origin && !el.textContent.trim())) {
      note(el, el.src || el.textContent);
    }
    if (tag === "meta" && /refresh/i.test(el.getAttribute("http-equiv") || "")) note(el, "refresh");
    if (tag === "style" && /javascript:|expression\s*\(|@import|behavior/i.test(el.textContent)) {
      note(el, el.textContent);
    }
    for (const attribute of el.attributes) {
      const name = attribute.name.toLowerCase();
      const value = attribute.value.replace(/[\u0000-\u0020]/g, "").toLowerCase();
      if (name.startsWith("on") && attribute.value !== "window.print()") note(el, name + "=" + attribute.value);
      else if (name === "srcdoc") note(el, name);
      else if (urls.has(name) && /^(javascript|vbscript|data):/.test(value)) note(el, name + "=" + value);
      else if (name === "style" && /expression\(|javascript:|url\(/.test(value)) note(el, "style=" + value);
    }
  }
  const values = Array.from(document.querySelectorAll("input, textarea"), (el) => el.value);
  const labels = Array.from(document.querySelectorAll("[alt], [title]"),
                            (el) => (el.getAttribute("alt") || "") + " " + (el.getAttribute("title") || ""));
  return {armed, title: document.title, text: [document.body.textContent, ...values, ...labels].join(" \n ")};
}"""


@dataclass
class Chromium:
    """One tab of one Chromium, signed in as each viewer in turn; by page: what ran, what lies armed, which
    written texts the page did not show as text."""

    page: object
    base: str
    viewer: str = "passer-by"
    ran: list[tuple[str, str]] = field(default_factory=list)
    armed: dict[str, list[str]] = field(default_factory=dict)
    unshown: dict[str, list[str]] = field(default_factory=dict)
    outside: list[str] = field(default_factory=list)
    pages: Counter = field(default_factory=Counter)  # by viewer
    texts: Counter = field(default_factory=Counter)  # looked for, found

    @classmethod
    def open(cls, browser, base: str) -> Chromium:
        """The tab, with what runs reported (``__xss`` from any frame, dialogs) and requests elsewhere than the
        platform noted."""
        context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", user_agent="race-test",
                                      extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"})
        context.set_default_timeout(30_000)
        chromium = cls(None, base)
        context.expose_binding("__xssRan", lambda source, n: chromium.ran.append((source["frame"].url, f"__xss({n})")))
        context.add_init_script(RECORD_RUNS)

        def elsewhere(request):  # watched, not routed: routing would turn the browser's cache off
            if not request.url.startswith((base + "/", "data:", "about:")):
                chromium.outside.append(request.url)

        def dialog(opened):
            chromium.ran.append((chromium.page.url, f"{opened.type}({opened.message})"))
            opened.dismiss()

        context.on("request", elsewhere)
        chromium.page = context.new_page()
        chromium.page.on("dialog", dialog)
        return chromium

    def calibrate(self) -> None:
        """Show that what runs is seen, before anything is counted: a few payloads put in a page as they are
        (a script, a handler, a dialog, a frame, the title) all report themselves, and the scan finds them armed."""
        chosen = [next(n for n, payload in enumerate(PAYLOADS) if payload.startswith(start)) for start in CANARIES]
        unescaped = f"<!doctype html><title>x</title><body>{''.join(PAYLOADS[n] for n in chosen)}</body>"
        url = f"{self.base}/calibration"
        self.page.route(url, lambda route: route.fulfill(body=unescaped, content_type="text/html; charset=utf-8"))
        self.page.goto(url, wait_until="load")
        self.page.wait_for_timeout(5 * SETTLE_MS)
        self.page.unroute(url)
        reported = " ".join(what for _where, what in self.ran) + " title " + self.page.title()
        assert all(f"({n})" in reported or f"XSS{n}" in reported for n in chosen), (chosen, reported)
        assert len(self.page.evaluate(SCAN)["armed"]) >= len(chosen), "the scan does not see what could run"
        self.ran.clear()

    def sign_in(self, viewer: str, browser: Browser | None = None, *, locale: str | None = None) -> None:
        """From now on the tab is ``browser``'s (its cookies; the User-Agent the session is bound to is the same),
        or a passer-by's, who may have chosen a language."""
        self.viewer = viewer
        self.page.context.clear_cookies()
        cookies = {**(browser.cookies if browser is not None else {}), **({"locale": locale} if locale else {})}
        if cookies:
            self.page.context.add_cookies([{"name": name, "value": value, "url": self.base}
                                           for name, value in cookies.items()])

    def visit(self, path: str, expect=(), *, some=()) -> None:
        """Open ``path`` and let it settle; note what ran, what lies armed, and which of the texts ``expect`` (all
        of them) and ``some`` (at least one) the page does not show."""
        response = self.page.goto(self.base + path, wait_until="load")
        where = f"{self.viewer} {path}"
        assert response is not None and response.status == 200, f"{where}: {response and response.status}"
        self.page.wait_for_timeout(SETTLE_MS)
        found = self.page.evaluate(SCAN)
        self.pages[self.viewer] += 1
        if found["armed"]:
            self.armed[where] = found["armed"]
        if re.fullmatch(r"XSS\d+", found["title"]) or self.page.url != response.url:
            self.ran.append((where, f"title {found['title']!r}, at {self.page.url}"))
        text = shown(found["text"])
        missing = [wanted[:120] for wanted in expect if shown(wanted) not in text]
        if some and not any(shown(wanted) in text for wanted in some):
            missing.append(f"any of {len(some)}, such as {some[0][:120]}")
        self.texts["looked for"] += len(expect) + bool(some)
        self.texts["found"] += len(expect) + bool(some) - len(missing)
        if missing:
            self.unshown[where] = missing


def look_as_passer_by(chromium: Chromium, written: Written) -> None:
    """The storefront as anyone sees it: the street (its map too), shops, products, listings, searches (and what
    they reflect), tracking, the public IP notices, in Chinese and in English, and the search box's suggestions."""
    chromium.sign_in("passer-by")
    chromium.visit(f"/t/{SLUG}/", some=written.shop_names + written.titles())
    for n in range(2):
        chromium.visit(f"/t/{SLUG}/s/shop-{n}/", [written.shop_names[n]], some=written.titles(n))
        chromium.visit(f"/t/{SLUG}/s/shop-{n}/licence", [written.shop_names[n]])
    for product in written.products:
        chromium.visit(f"/t/{SLUG}/p/{product.id}", [product.title, written.shop_names[product.shop]],
                       some=written.reviews)
    chromium.visit(f"/t/{SLUG}/c/goods", written.titles())
    chromium.visit(f"/t/{SLUG}/search?q=XSS", some=written.titles())
    chromium.visit(f"/search?q={quote('测试商品')}", some=written.titles())
    for product in written.products[:2]:  # a brand chosen among the facets (its first 60 characters): a chip
        brand = product.brand.strip()[:FACET_VALUE_CHARACTERS]
        chromium.visit(f"/t/{SLUG}/search?a.brand={quote(brand)}", [brand, product.title])
    for query in written.queries:
        chromium.visit(f"/t/{SLUG}/search?q={quote(query)}", [query])
    for query in written.queries[:CITY_QUERIES]:
        chromium.visit(f"/search?q={quote(query)}", [query])
    token, place, _note = written.tracking
    chromium.visit(f"/t/{SLUG}/track/{token}", [place])
    chromium.visit(f"/t/{SLUG}/ip-notices", written.shop_names[:1])
    chromium.sign_in("passer-by", locale="en")  # the English names and descriptions
    chromium.visit(f"/t/{SLUG}/", written.shop_names_en)
    for n in range(2):
        chromium.visit(f"/t/{SLUG}/s/shop-{n}/", [written.shop_names_en[n]])
    chromium.sign_in("passer-by")
    # The search box's suggestions as one types (search.js), built from the products' titles.
    chromium.visit(f"/t/{SLUG}/")
    chromium.page.get_by_role("combobox").first.press_sequentially("测试商品", delay=20)
    chromium.page.get_by_role("option").first.wait_for()
    chromium.page.wait_for_timeout(SETTLE_MS)
    suggested = shown(chromium.page.get_by_role("listbox").first.text_content() or "")
    chromium.texts["looked for"] += 1
    if any(shown(title)[:40] in suggested for title in written.titles()):
        chromium.texts["found"] += 1
    else:
        chromium.unshown["passer-by search suggestions"] = [suggested[:200]]


def look_as_residents(platform, chromium: Chromium, written: Written) -> None:
    """What residents see of their own: account, orders and receipts (with the shops' answers), complaints,
    addresses, a full cart and its checkout, a shop application, an IP notice with the shop's statement."""
    group, _order, _shop = written.orders["bought 0"]
    chromium.sign_in("resident", written.session(platform, f"resident{BUYER:03d}@reliable.example"))
    chromium.visit("/account/", [written.names[BUYER]])
    chromium.visit("/account/orders", written.shop_names)
    chromium.visit(f"/t/{SLUG}/orders/{group}", written.notes[:2], some=written.titles())
    chromium.visit(f"/t/{SLUG}/orders/{group}/receipt", written.shop_names, some=written.titles())
    chromium.visit("/account/complaints", written.shop_names)
    chromium.visit("/account/tokens", written.key_names[1:])
    for number, _shop, description in written.complaints:
        chromium.visit(f"/t/{SLUG}/complaints/{number}", [description])

    chromium.sign_in("resident", written.session(platform, f"resident{SHIPPED_BUYER:03d}@reliable.example"))
    _token, place, note = written.tracking
    chromium.visit(f"/t/{SLUG}/orders/{written.orders['shipped'][0]}", [place, note])
    chromium.visit("/account/addresses/", written.addresses)
    chromium.visit(f"/t/{SLUG}/cart", written.titles())
    chromium.visit(f"/t/{SLUG}/checkout", written.titles() + written.addresses[:1])
    for resident, what in ((CANCELLER, "cancelled"), (REFUSED_BUYER, "refused")):
        chromium.sign_in("resident", written.session(platform, f"resident{resident:03d}@reliable.example"))
        chromium.visit(f"/t/{SLUG}/orders/{written.orders[what][0]}", some=written.notes)
    chromium.sign_in("resident", written.session(platform, f"resident{APPLICANTS[0]:03d}@reliable.example"))
    chromium.visit(f"/t/{SLUG}/join", written.applications[:1])
    chromium.sign_in("resident", written.sessions[NEWCOMER])
    chromium.visit("/account/", [written.names[0]])
    number, description, statement = written.ip_notice
    chromium.sign_in("resident", written.session(platform, f"resident{APPLICANTS[1]:03d}@reliable.example"))
    chromium.visit(f"/t/{SLUG}/ip-notices/{number}", [description, statement])


def look_as_merchants(platform, chromium: Chromium, written: Written) -> None:
    """The merchant console of both shops: what residents wrote to them (names, notes, reviews, complaints, returns,
    addresses, IP notices) and what the merchants wrote themselves, in the forms that edit it."""
    for shop in range(2):
        chromium.sign_in("merchant", written.session(platform, f"merchant{shop}@reliable.example"))
        base = f"/merchant/{SLUG}/shop-{shop}"
        chromium.visit("/merchant/", [written.shop_names[shop]])
        chromium.visit(f"{base}/", [written.shop_names[shop]])
        chromium.visit(f"{base}/profile", [written.shop_names[shop]])
        chromium.visit(f"{base}/products/", written.titles(shop))
        for product in [product for product in written.products if product.shop == shop][:3]:
            chromium.visit(f"{base}/products/{product.id}/edit", [product.title])
        chromium.visit(f"{base}/orders", some=list(written.names.values()))
        for _group, number, owner in written.orders.values():
            if owner == shop:
                chromium.visit(f"{base}/orders/{number}", some=written.notes)
        chromium.visit(f"{base}/reviews", some=written.reviews)
        chromium.visit(f"{base}/complaints", [written.shop_names[shop]])
        for number, owner, description in written.complaints:
            if owner == shop:
                chromium.visit(f"{base}/complaints/{number}", [description])
        chromium.visit(f"{base}/returns", [written.names[BUYER]])
        for return_id, owner, reason in written.returns:
            if owner == shop:
                chromium.visit(f"{base}/returns/{return_id}", [reason, written.names[BUYER]])
        chromium.visit(f"{base}/deliveries", [written.shop_names[shop]])
        if shop == 0:
            number, description, statement = written.ip_notice
            chromium.visit(f"{base}/ip-notices", written.shop_names[:1])
            chromium.visit(f"{base}/ip-notices/{number}", [description, statement])
            chromium.visit(f"{base}/licences", written.licences)
            chromium.visit(f"{base}/api-keys", written.key_names[:1])
    chromium.sign_in("merchant", written.session(platform, "merchant2@reliable.example"))
    chromium.visit(f"/merchant/{SLUG}/shop-2/verification", written.verification)


def look_as_operator(platform, chromium: Chromium, written: Written) -> None:
    """The operator console: shops, complaints, reviews, orders, the search log, licences, comments on the rules,
    IP notices, merchants and shop applications."""
    operator = written.session(platform, OPERATOR)
    chromium.sign_in("operator", operator)
    base = f"/operator/{SLUG}"
    chromium.visit(f"{base}/", written.shop_names)
    chromium.visit(f"{base}/shops", written.shop_names)
    chromium.visit(f"{base}/complaints", written.shop_names)
    for number, _shop, description in written.complaints:
        chromium.visit(f"{base}/complaints/{number}", [description, written.names[BUYER]])
    chromium.visit(f"{base}/reviews", some=written.reviews)
    chromium.visit(f"{base}/orders", some=list(written.names.values()))
    chromium.visit(f"{base}/search", some=written.queries)
    chromium.visit(f"{base}/licences", written.licences)
    chromium.visit(f"{base}/documents", written.comments)
    number, description, statement = written.ip_notice
    chromium.visit(f"{base}/ip-notices", written.shop_names[:1])
    chromium.visit(f"{base}/ip-notices/{number}", [description, statement])
    chromium.visit(f"{base}/merchants", written.shop_names + written.verification[:1])
    chromium.visit(f"{base}/shop-applications", written.applications)
    listed = operator.get(f"{base}/shop-applications").body
    for application in sorted(set(re.findall(r"/shop-applications/(\d+)", listed))):
        chromium.visit(f"{base}/shop-applications/{application}", some=written.applications)


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason=SKIP_REASON)
def test_hostile_text_from_merchants_and_residents_never_runs_on_any_page(platform, chromium):
    started = time.monotonic()
    payloads, written = Payloads(), Written(equip(platform))
    for write in (write_shops, write_products, write_queries, write_people, write_orders, write_after_sales,
                  write_applications, write_the_rest):
        write(platform, payloads, written)
    writing = time.monotonic() - started

    tab = Chromium.open(chromium, f"http://127.0.0.1:{platform.server.port}")
    try:
        tab.calibrate()
        look_as_passer_by(tab, written)
        look_as_residents(platform, tab, written)
        look_as_merchants(platform, tab, written)
        look_as_operator(platform, tab, written)
    finally:
        tab.page.context.close()  # the run's one Chromium goes on (tests.fixtures.live)

    kinds = {kind: len(numbers) for kind, numbers in payloads.fields.items()}
    least = min(sum(n in numbers for numbers in payloads.fields.values()) for n in range(len(PAYLOADS)))
    viewers = ", ".join(f"{count} as {viewer}" for viewer, count in tab.pages.items())
    print(f"\n[{platform.database}] {len(PAYLOADS)} payloads in {len(kinds)} kinds of text, each payload in {least} "
          f"kinds or more; {sum(tab.pages.values())} pages opened ({viewers}): {len(tab.ran)} ran, "
          f"{sum(map(len, tab.armed.values()))} elements armed, {tab.texts['found']} of "
          f"{tab.texts['looked for']} written texts shown as text; {sum(written.refused.values())} texts with "
          f"control characters refused ({dict(written.refused)}); {writing:.0f} s writing, "
          f"{time.monotonic() - started:.0f} s in all")
    print("  payloads by kind: " + ", ".join(f"{kind} {count}" for kind, count in kinds.items()))
    assert tab.ran == []
    assert tab.armed == {}
    assert tab.outside == []
    assert tab.unshown == {}
    assert {kind for kind, count in kinds.items() if count == len(PAYLOADS)} >= {
        "product description", "review", "review reply", "shop description"}
    platform.check()
