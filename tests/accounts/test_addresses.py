"""The resident's address book: Chinese addresses checked against the division codes, one default, own rows only."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from marketplace.accounts import addresses, divisions
from marketplace.accounts.addresses import Address
from marketplace.extensions import db
from tests.fixtures.factories import PASSWORD

GOOD = {
    "recipient": "王小明", "mobile": "+86 138-0013-8000",
    "province_code": "410000", "city_code": "410100", "district_code": "410102",
    "street": "建设东路 12 号院 3 号楼 2 单元 501", "postcode": "450000",
}


def rows(user) -> list[Address]:
    db.session.expire_all()
    return addresses.addresses_of(user.id)


@pytest.fixture
def resident(client, make_user):
    user = make_user("resident@example.com", name="王小明")
    client.login("resident@example.com", PASSWORD)
    return user


def add(client, **changes):
    return client.submit("/account/addresses/new", {**GOOD, **changes})


# -- the divisions -----------------------------------------------------------------------------------------------

def test_division_endpoint_lists_the_children_of_a_code(client):
    henan = client.get("/account/addresses/divisions?parent=410000")
    assert henan.status_code == 200
    assert {"code": "410100", "name": "郑州市", "has_children": True} in henan.json["children"]
    assert {"code": "419001", "name": "济源市", "has_children": False} in henan.json["children"]  # no districts

    zhengzhou = client.get("/account/addresses/divisions?parent=410100").json["children"]
    assert {"code": "410102", "name": "中原区", "has_children": False} in zhengzhou

    provinces = client.get("/account/addresses/divisions").json["children"]
    assert {"code": "110000", "name": "北京市", "has_children": True} in provinces
    assert len(provinces) == 31  # the mainland; Hong Kong, Macao and Taiwan have nothing below them

    assert client.get("/account/addresses/divisions?parent=999999").status_code == 404
    assert client.get("/account/addresses/divisions?parent=%00%27").status_code == 404


def test_municipalities_have_one_city_holding_their_districts():
    assert [(c.code, c.name) for c in divisions.children("110000")] == [("110100", "北京市")]
    assert "朝阳区" in {d.name for d in divisions.children("110100")}
    chongqing = {d.code: d.name for d in divisions.children("500100")}
    assert chongqing["500101"] == "万州区" and chongqing["500235"] == "云阳县"  # counties too, one list
    assert not {"崇文区", "宣武区"} & {d.name for d in divisions.children("110100")}  # abolished in 2010


# -- adding, editing, deleting, the default ----------------------------------------------------------------------

def test_address_book_needs_login(client):
    response = client.get("/account/addresses/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/account/login")


def test_adding_an_address_stores_it_normalised_and_makes_the_first_one_default(client, resident):
    response = add(client)
    assert response.status_code == 303 and response.headers["Location"] == "/account/addresses/"
    [address] = rows(resident)
    assert address.mobile == "13800138000"
    assert (address.province_name, address.city_name, address.district_name) == ("河南省", "郑州市", "中原区")
    assert address.is_default and address.postcode == "450000"
    page = client.get("/account/addresses/").get_data(as_text=True)
    assert "地址已保存。" in page and "河南省 郑州市 中原区 建设东路 12 号院" in page and "138****8000" in page


def test_a_municipality_and_a_city_without_districts_are_accepted(client, resident):
    assert add(client, province_code="310000", city_code="310100", district_code="310151").status_code == 303
    assert add(client, province_code="440000", city_code="441900", district_code="").status_code == 303
    shanghai, dongguan = sorted(rows(resident), key=lambda a: a.id)
    assert shanghai.region_text == "上海市 崇明区"  # the municipality is not named twice
    assert (dongguan.district_code, dongguan.region_text) == (None, "广东省 东莞市")


def test_editing_an_address_replaces_its_fields(client, resident):
    add(client)
    [address] = rows(resident)
    form = client.get(f"/account/addresses/{address.id}/edit").get_data(as_text=True)
    assert 'value="王小明"' in form and re.search(r'<option selected value="410102">中原区</option>', form)
    response = client.submit(f"/account/addresses/{address.id}/edit",
                             {**GOOD, "recipient": "李四", "district_code": "410105", "postcode": ""})
    assert response.status_code == 303
    [address] = rows(resident)
    assert (address.recipient, address.district_name, address.postcode) == ("李四", "金水区", None)


def test_one_default_at_a_time_and_deleting_the_default_passes_it_on(client, resident):
    add(client, recipient="甲")
    add(client, recipient="乙")
    first, second = sorted(rows(resident), key=lambda a: a.id)
    assert first.is_default and not second.is_default

    token = client.csrf_token("/account/addresses/")
    assert client.post(f"/account/addresses/{second.id}/default", data={"csrf_token": token}).status_code == 303
    assert [(a.recipient, a.is_default) for a in rows(resident)] == [("乙", True), ("甲", False)]

    add(client, recipient="丙", make_default="y")
    assert [(a.recipient, a.is_default) for a in rows(resident)] == [("丙", True), ("乙", False), ("甲", False)]

    third = rows(resident)[0]
    assert client.post(f"/account/addresses/{third.id}/delete", data={"csrf_token": token}).status_code == 303
    assert [(a.recipient, a.is_default) for a in rows(resident)] == [("乙", True), ("甲", False)]
    assert "地址已删除。" in client.get("/account/addresses/").get_data(as_text=True)


# -- refused input: a clear message by the field, nothing saved --------------------------------------------------

@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"mobile": "12800138000"}, "mobile", "请填写 11 位中国大陆手机号"),
    ({"mobile": "1380013800"}, "mobile", "请填写 11 位中国大陆手机号"),
    ({"mobile": ""}, "mobile", "请填写手机号。"),
    ({"province_code": "999999"}, "province_code", "所选省份不存在。"),
    ({"city_code": "420100"}, "city_code", "所选城市不属于所选省份。"),
    ({"district_code": "410302"}, "district_code", "所选区县不属于所选城市。"),  # 洛阳's, not 郑州's
    ({"district_code": ""}, "district_code", "请选择区县。"),
    ({"district_code": "41O1O2"}, "district_code", "所选区县不存在。"),
    ({"recipient": "王" * 51}, "recipient", "最多 50 个字。"),
    ({"street": "路" * 201}, "street", "最多 200 个字。"),
    ({"street": "建设路\x00"}, "street", "含有无法识别的字符"),
    ({"street": "  "}, "street", "请填写详细地址。"),
    ({"postcode": "4500"}, "postcode", "邮政编码是 6 位数字"),
])
def test_bad_input_is_refused_with_a_message_by_the_field(client, resident, changes, field, message):
    response = add(client, **changes)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert re.search(rf'<(select|input)[^>]*id="{field}"', html)
    block = html.split(f'id="{field}"', 1)[1].split('<div class="field', 1)[0]
    assert message in block, block
    assert db.session.scalar(select(func.count()).select_from(Address)) == 0


def test_every_problem_is_shown_at_once(client, resident):
    html = add(client, recipient="", mobile="123", district_code="410302").get_data(as_text=True)
    assert "请填写收货人。" in html and "请填写 11 位中国大陆手机号" in html and "所选区县不属于所选城市。" in html


def test_a_refused_edit_changes_nothing(client, resident):
    add(client)
    [address] = rows(resident)
    response = client.submit(f"/account/addresses/{address.id}/edit", {**GOOD, "recipient": "新名字", "mobile": "1"})
    assert response.status_code == 400
    assert rows(resident)[0].recipient == "王小明"


def test_without_javascript_the_refresh_button_fills_the_next_list(client, resident):
    response = client.submit("/account/addresses/new", {"province_code": "410000", "refresh": "1"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<option value="410100">郑州市</option>' in html
    assert db.session.scalar(select(func.count()).select_from(Address)) == 0


# -- someone else's address ----------------------------------------------------------------------------------------

def test_another_users_address_is_not_found(client, make_client, make_user, resident):
    other = make_user("other@example.com")
    theirs = addresses.add_address(other.id, addresses.AddressInput(**GOOD))
    db.session.commit()
    token = client.csrf_token("/account/addresses/")
    assert client.get(f"/account/addresses/{theirs.id}/edit").status_code == 404
    assert client.submit(f"/account/addresses/{theirs.id}/edit", GOOD, page_url="/account/addresses/new")\
        .status_code == 404
    assert client.post(f"/account/addresses/{theirs.id}/delete", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/account/addresses/{theirs.id}/default", data={"csrf_token": token}).status_code == 404
    assert "建设东路" not in client.get("/account/addresses/").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Address, theirs.id).recipient == "王小明"


def test_the_service_refuses_the_same_way_for_checkout_and_the_api(make_user):
    user = make_user()
    with pytest.raises(addresses.AddressError) as refused:
        addresses.add_address(user.id, addresses.AddressInput(**{**GOOD, "city_code": "410200"}))
    assert set(refused.value.problems) == {"district_code"}
    assert addresses.default_address(user.id) is None
