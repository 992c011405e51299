"""The shop owner keeps the merchant's legal name and licence number (统一社会信用代码 or 注册号) on the shop
profile page: a well-formed number with the right check character, empty only for a natural person.

The world (tests/console/conftest.py): shop X of tenant A, owned by "owner"; its merchant is an individual
business (tests/fixtures/factories.py).
"""

from __future__ import annotations

import html as html_lib

import pytest

from marketplace.extensions import db
from marketplace.shops.models import WEEKDAYS, Merchant
from marketplace.shops.services import uscc_check_character
from tests.console.conftest import database_rows

#: GB 32100-2015's own example of a valid code, and invented ones whose check character was computed.
VALID = "91350100M000100Y43"
INDIVIDUAL = "92410103MA9DEM001K"
WRONG_CHECK = "91350100M000100Y44"


def _profile(**changes) -> dict:
    data = {"name_zh": "鲜果坊", "name_en": "", "description_zh": "", "description_en": "", "phone": "",
            "legal_name": "郑州市二七区鲜果坊水果店", "registration_number": INDIVIDUAL,
            **{f"hours_{day}": "09:00-21:00" for day in WEEKDAYS}}
    data.update(changes)
    return data


def _url(world) -> str:
    return f"/merchant/{world.a.slug}/{world.x.slug}/profile"


def _merchant(world) -> Merchant:
    db.session.expire_all()
    return db.session.get(Merchant, world.x.merchant_id)


def _text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def test_the_check_character_follows_gb_32100():
    assert uscc_check_character(VALID[:17]) == "3"
    assert uscc_check_character(INDIVIDUAL[:17]) == "K"


def test_the_owner_sees_the_merchants_legal_identity(world, as_role):
    merchant = _merchant(world)
    merchant.registration_number = INDIVIDUAL
    db.session.commit()
    page = _text(as_role("owner").get(_url(world)))
    assert "经营主体：个体工商户" in page
    assert f'name="legal_name" type="text" value="{merchant.legal_name}"' in page
    assert f'name="registration_number" type="text" value="{INDIVIDUAL}"' in page


@pytest.mark.parametrize("typed, stored", [
    (VALID, VALID),
    ("91350100m000100y43", VALID),  # lower case
    (" 9135 0100 M000 100Y 43 ", VALID),  # spaced as on some licences
    ("９１３５０１００Ｍ０００１００Ｙ４３", VALID),  # full width, from a Chinese input method
    ("410103600123456", "410103600123456"),  # a 15-digit 注册号 from before 2015
])
def test_the_owner_saves_a_valid_registration_number(world, as_role, typed, stored):
    owner = as_role("owner")
    response = owner.submit(_url(world), _profile(legal_name="郑州市二七区 鲜果坊水果店", registration_number=typed))
    assert response.status_code == 302
    assert "店铺资料已保存。" in _text(owner.get(response.headers["Location"]))
    merchant = _merchant(world)
    assert (merchant.legal_name, merchant.registration_number) == ("郑州市二七区 鲜果坊水果店", stored)
    assert f'value="{stored}"' in _text(owner.get(_url(world)))


@pytest.mark.parametrize("typed, message", [
    (WRONG_CHECK, f"统一社会信用代码 {WRONG_CHECK} 的最后一位（校验码）不对，请对照营业执照核对。"),
    ("91350100M000100Y4", "应填写 18 位统一社会信用代码，或 2015 年以前的 15 位注册号。"),
    ("9135010OM000100Y43", "统一社会信用代码应为 18 位数字或大写字母（不含 I、O、Z、S、V）。"),  # O for 0
    ("91350100M000100I43", "统一社会信用代码应为 18 位数字或大写字母（不含 I、O、Z、S、V）。"),
    ("41010360012345X", "应填写 18 位统一社会信用代码，或 2015 年以前的 15 位注册号。"),
    ("", "企业和个体工商户须填写营业执照上的统一社会信用代码或注册号。"),
    ("   ", "企业和个体工商户须填写营业执照上的统一社会信用代码或注册号。"),
    ("9" * 5000, None),
    ("<script>", "应填写 18 位统一社会信用代码"),
])
def test_a_bad_registration_number_is_refused_and_nothing_changes(world, as_role, typed, message):
    owner = as_role("owner")
    before = database_rows()
    response = owner.submit(_url(world), _profile(name_zh="鲜果坊（新）", registration_number=typed))
    page = _text(response)
    assert response.status_code == 400 and 'role="alert"' in page
    if message:
        assert message in page
    assert "<script>" not in response.get_data(as_text=True)
    assert database_rows() == before  # not even the shop's new name


def test_the_legal_name_is_required(world, as_role):
    owner = as_role("owner")
    before = database_rows()
    response = owner.submit(_url(world), _profile(legal_name="  "))
    assert response.status_code == 400
    assert "请填写经营者名称（营业执照上的名称，自然人填姓名）。" in _text(response)
    assert database_rows() == before


def test_a_natural_person_may_leave_the_number_empty_but_not_wrong(world, as_role):
    merchant = _merchant(world)
    merchant.kind = "natural_person"
    db.session.commit()
    owner = as_role("owner")
    assert "未办理营业执照的自然人可不填" in _text(owner.get(_url(world)))
    response = owner.submit(_url(world), _profile(legal_name="王建国", registration_number=""))
    assert response.status_code == 302
    assert (_merchant(world).legal_name, _merchant(world).registration_number) == ("王建国", "")
    response = owner.submit(_url(world), _profile(legal_name="王建国", registration_number=WRONG_CHECK))
    assert response.status_code == 400 and "校验码" in _text(response)
    assert _merchant(world).registration_number == ""


def test_staff_cannot_change_the_merchants_identity(world, as_role):
    staff = as_role("staff")
    response = staff.post(_url(world), data={"csrf_token": staff.csrf_token("/account/login"),
                                             **_profile(legal_name="冒名", registration_number=VALID)})
    assert response.status_code == 403
    assert _merchant(world).legal_name != "冒名"
