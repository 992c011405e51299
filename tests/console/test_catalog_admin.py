"""The operator's category tree: seeing it, adding and editing categories (with the goods they hold that are
outside the 7-day no-reason return), and the edits it refuses.

The world (tests/console/conftest.py): tenant A (its operator) with shops X and Y; tenant B with shop Z.
"""

from __future__ import annotations

import html as html_lib

import pytest
from sqlalchemy import select

from marketplace.catalog.models import EXCLUSIONS, Category
from marketplace.extensions import db
from marketplace.tenancy.context import tenant_scope
from tests.console.conftest import database_rows


@pytest.fixture
def tree(world, make_category):
    """Tenant A: 农资 (agri) › 化肥 (fertiliser) › 复合肥 (compound); and 服装 (clothes) at the top."""
    agri = make_category(world.a, slug="agri", name_zh="农资", product_type="general.goods", position=0)
    fertiliser = make_category(world.a, slug="fertiliser", name_zh="化肥", product_type="agri_inputs.fertiliser",
                               parent_id=agri.id)
    compound = make_category(world.a, slug="compound", name_zh="复合肥", product_type="agri_inputs.fertiliser",
                             parent_id=fertiliser.id)
    clothes = make_category(world.a, slug="clothes", name_zh="服装", product_type="apparel.garment", position=1)
    return {"agri": agri, "fertiliser": fertiliser, "compound": compound, "clothes": clothes}


def _categories(tenant) -> dict[str, Category]:
    db.session.expire_all()
    with tenant_scope(tenant):
        return {c.slug: c for c in db.session.scalars(select(Category))}


def _form(**changes) -> dict:
    data = {"slug": "seed", "name_zh": "种子", "name_en": "Seeds", "parent_id": "0",
            "product_type": "agri_inputs.seed", "position": ""}
    data.update({k: str(v) for k, v in changes.items()})
    return data


def _edit_form(category: Category, **changes) -> dict:
    current = {"slug": category.slug, "name_zh": category.name_zh, "name_en": category.name_en,
               "parent_id": category.parent_id or 0, "product_type": category.product_type,
               "position": category.position, "return_exclusion": category.return_exclusion}
    return _form(**{**current, **changes})


def _text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def test_the_operator_sees_the_tree_with_children_under_their_parents(world, as_role, tree):
    page = _text(as_role("operator").get(f"/operator/{world.a.slug}/categories"))
    assert page.index("农资") < page.index("化肥") < page.index("复合肥") < page.index("服装")
    assert "肥料（agri_inputs.fertiliser）" in page  # the product types to choose from
    assert f'href="/operator/{world.a.slug}/categories/{tree["compound"].id}"' in page


def test_the_tenant_page_links_to_categories_and_licences(world, as_role):
    page = as_role("operator").get(f"/operator/{world.a.slug}/").get_data(as_text=True)
    assert f'href="/operator/{world.a.slug}/categories"' in page
    assert f'href="/operator/{world.a.slug}/licences"' in page


def test_the_operator_adds_a_category_under_a_parent(world, as_role, tree):
    operator = as_role("operator")
    url = f"/operator/{world.a.slug}/categories"
    response = operator.submit(url, _form(parent_id=tree["agri"].id))
    assert response.status_code == 303 and response.headers["Location"] == url
    assert "已添加分类“种子”。" in _text(operator.get(url))
    seed = _categories(world.a)["seed"]
    assert (seed.name_zh, seed.name_en, seed.product_type) == ("种子", "Seeds", "agri_inputs.seed")
    assert seed.parent_id == tree["agri"].id
    assert seed.position == 1  # after its sibling 化肥


def test_the_operator_edits_names_type_position_and_parent(world, as_role, tree):
    operator = as_role("operator")
    clothes = tree["clothes"]
    url = f"/operator/{world.a.slug}/categories/{clothes.id}"
    assert "服装" in _text(operator.get(url))
    response = operator.submit(url, _edit_form(clothes, name_zh="鞋帽", name_en="Shoes and hats",
                                               product_type="general.goods", position=7,
                                               parent_id=tree["agri"].id))
    assert response.status_code == 303
    assert "分类“鞋帽”已保存。" in _text(operator.get(response.headers["Location"]))
    edited = _categories(world.a)["clothes"]
    assert (edited.name_zh, edited.name_en, edited.product_type, edited.position) == (
        "鞋帽", "Shoes and hats", "general.goods", 7)
    assert edited.parent_id == tree["agri"].id


@pytest.mark.parametrize("new_parent", ["agri", "fertiliser", "compound"])
def test_a_category_cannot_move_under_itself_or_its_children(world, as_role, tree, new_parent):
    operator = as_role("operator")
    agri = tree["agri"]
    before = database_rows()
    response = operator.submit(f"/operator/{world.a.slug}/categories/{agri.id}",
                               _edit_form(agri, parent_id=tree[new_parent].id))
    assert response.status_code == 400
    assert "不能把分类移到它自己或它的子分类下面。" in _text(response)
    assert database_rows() == before


def test_a_duplicate_slug_is_refused_when_adding_and_when_editing(world, as_role, tree):
    operator = as_role("operator")
    before = database_rows()
    response = operator.submit(f"/operator/{world.a.slug}/categories", _form(slug="clothes"))
    assert response.status_code == 400 and "分类代码“clothes”已被使用。" in _text(response)
    response = operator.submit(f"/operator/{world.a.slug}/categories/{tree['agri'].id}",
                               _edit_form(tree["agri"], slug="compound"))
    assert response.status_code == 400 and "分类代码“compound”已被使用。" in _text(response)
    assert database_rows() == before


def test_the_same_slug_in_another_tenant_is_no_clash(world, as_role, tree, make_category):
    make_category(world.b, slug="seed", name_zh="乙市场种子", product_type="agri_inputs.seed")
    response = as_role("operator").submit(f"/operator/{world.a.slug}/categories", _form(slug="seed"))
    assert response.status_code == 303
    assert _categories(world.a)["seed"].name_zh == "种子"
    assert _categories(world.b)["seed"].name_zh == "乙市场种子"


def test_the_product_type_stays_while_products_use_the_category(world, as_role, tree, make_product):
    operator = as_role("operator")
    compound = tree["compound"]
    make_product(world.x, category=compound, publish=False)
    make_product(world.y, category=compound, publish=False)
    url = f"/operator/{world.a.slug}/categories/{compound.id}"
    assert "该分类下有 2 件商品。" in _text(operator.get(url))
    before = database_rows()
    response = operator.submit(url, _edit_form(compound, product_type="agri_inputs.seed"))
    assert response.status_code == 400
    assert "该分类下已有 2 件商品，不能更改商品类型" in _text(response)
    assert database_rows() == before
    # Names and position may still change.
    response = operator.submit(url, _edit_form(compound, name_zh="复混肥料", position=3))
    assert response.status_code == 303
    assert _categories(world.a)["compound"].name_zh == "复混肥料"


@pytest.mark.parametrize("changes, message", [
    ({"slug": ""}, "请填写分类代码。"),
    ({"slug": "Bad Slug"}, "分类代码只能用小写字母、数字和连字符"),
    ({"slug": "-seed"}, "分类代码只能用小写字母、数字和连字符"),
    ({"name_zh": "  "}, "请填写分类中文名称。"),
    ({"name_zh": "种\x00子"}, "含有无法识别的字符"),
    ({"name_zh": "长" * 101}, None),
    ({"product_type": "no_such.type"}, None),
    ({"parent_id": "999999"}, None),
    ({"parent_id": "abc"}, None),
    ({"position": "-1"}, "排序应为 0 到 9999 之间的整数。"),
    ({"position": "lots"}, None),
])
def test_bad_category_input_gets_a_form_error_and_writes_nothing(world, as_role, tree, changes, message):
    operator = as_role("operator")
    before = database_rows()
    response = operator.submit(f"/operator/{world.a.slug}/categories", _form(**changes))
    page = _text(response)
    assert response.status_code == 400 and 'role="alert"' in page
    if message:
        assert message in page
    assert database_rows() == before


def test_a_parent_from_another_tenant_is_refused(world, as_role, tree, make_category):
    other = make_category(world.b, slug="b-top", name_zh="乙的分类")
    operator = as_role("operator")
    before = database_rows()
    response = operator.submit(f"/operator/{world.a.slug}/categories", _form(parent_id=other.id))
    assert response.status_code == 400
    assert database_rows() == before


@pytest.mark.parametrize("role, expected", [("anonymous", "login"), ("resident", 404), ("owner", 404),
                                            ("staff", 404), ("operator", 200), ("admin", 200)])
def test_who_may_open_the_category_pages(world, as_role, tree, role, expected):
    browser = as_role(role)
    for url in (f"/operator/{world.a.slug}/categories", f"/operator/{world.a.slug}/categories/{tree['agri'].id}"):
        response = browser.get(url)
        if expected == "login":
            assert response.status_code == 302 and response.headers["Location"].startswith("/account/login")
        else:
            assert response.status_code == expected, url


def test_the_operator_of_another_tenant_is_refused(world, as_role, tree, make_category):
    other = make_category(world.b, slug="b-top", name_zh="乙的分类")
    operator = as_role("operator")
    before = database_rows()
    token = operator.csrf_token("/account/login")
    assert operator.get(f"/operator/{world.b.slug}/categories").status_code == 404
    assert operator.post(f"/operator/{world.b.slug}/categories",
                         data={"csrf_token": token, **_form()}).status_code == 404
    assert operator.post(f"/operator/{world.b.slug}/categories/{other.id}",
                         data={"csrf_token": token, **_form(slug="b-top")}).status_code == 404
    assert database_rows() == before


def test_another_tenants_category_is_not_found_through_this_tenant(world, as_role, tree, make_category):
    other = make_category(world.b, slug="b-top", name_zh="乙的分类")
    admin = as_role("admin")
    before = database_rows()
    assert admin.get(f"/operator/{world.a.slug}/categories/{other.id}").status_code == 404
    response = admin.post(f"/operator/{world.a.slug}/categories/{other.id}",
                          data={"csrf_token": admin.csrf_token("/account/login"), **_form(slug="b-top")})
    assert response.status_code == 404
    assert database_rows() == before
    assert "乙的分类" not in _text(admin.get(f"/operator/{world.a.slug}/categories"))


# -- goods outside the 7-day no-reason return ------------------------------------------------------------------------

EXCLUSION_ERROR = "请从列表中选择七日无理由退货的适用情况。"


def test_the_form_offers_every_exclusion_and_says_which_need_the_buyers_tick(world, as_role, tree):
    page = _text(as_role("operator").get(f"/operator/{world.a.slug}/categories"))
    assert '<option selected value="">支持七日无理由退货</option>' in page
    assert '<option value="perishable">鲜活易腐的商品</option>' in page  # excluded by law, no tick needed
    assert '<option value="hygiene">拆封后易影响人身安全、健康或商品品质的商品（需买家下单时确认）</option>' in page
    assert page.count("（需买家下单时确认）</option>") == 3
    assert all(f'value="{code}"' in page for code in EXCLUSIONS)


def test_the_operator_adds_a_perishable_category_and_the_list_shows_it(world, as_role, tree):
    operator = as_role("operator")
    url = f"/operator/{world.a.slug}/categories"
    response = operator.submit(url, _form(slug="fresh", name_zh="生鲜果蔬", product_type="general.goods",
                                          return_exclusion="perishable"))
    assert response.status_code == 303
    assert _categories(world.a)["fresh"].return_exclusion == "perishable"
    assert _categories(world.a)["clothes"].return_exclusion == ""
    page = _text(operator.get(url))
    assert "<td>不支持：鲜活易腐的商品</td>" in _row(page, "fresh")
    assert "<td>支持</td>" in _row(page, "clothes")


def _row(page: str, slug: str) -> str:
    """The category list's row of the category with this slug."""
    return next(row.split("</tr>")[0] for row in page.split("<tr>") if f"<code>{slug}</code>" in row)


def test_the_operator_sets_and_clears_the_exclusion_of_a_category(world, as_role, tree):
    operator = as_role("operator")
    clothes = tree["clothes"]
    url = f"/operator/{world.a.slug}/categories/{clothes.id}"
    assert operator.submit(url, _edit_form(clothes, return_exclusion="hygiene")).status_code == 303
    assert _categories(world.a)["clothes"].return_exclusion == "hygiene"
    assert '<option selected value="hygiene">' in _text(operator.get(url))  # the edit page shows what is set
    listing = _text(operator.get(f"/operator/{world.a.slug}/categories"))
    assert "不支持：拆封后易影响人身安全、健康或商品品质的商品（需买家下单时确认）" in _row(listing, "clothes")
    assert operator.submit(url, _edit_form(_categories(world.a)["clothes"], return_exclusion="")).status_code == 303
    assert _categories(world.a)["clothes"].return_exclusion == ""


@pytest.mark.parametrize("code", ["no_such_code", "PERISHABLE", "perishable ", "长" * 5000])
def test_an_unknown_exclusion_is_refused_and_nothing_changes(world, as_role, tree, code):
    operator = as_role("operator")
    before = database_rows()
    response = operator.submit(f"/operator/{world.a.slug}/categories", _form(return_exclusion=code))
    assert response.status_code == 400 and EXCLUSION_ERROR in _text(response)
    response = operator.submit(f"/operator/{world.a.slug}/categories/{tree['agri'].id}",
                               _edit_form(tree["agri"], name_zh="农业生产资料", return_exclusion=code))
    assert response.status_code == 400 and EXCLUSION_ERROR in _text(response)
    assert 'role="alert"' in _text(response)
    assert database_rows() == before
