"""Tenants as code: ``flask tenants sync | create | list`` and the tenant.toml manifests."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

from marketplace.catalog.models import Category
from marketplace.extensions import db
from marketplace.tenancy import manifests
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.models import Tenant, TenantDomain, TenantSetting
from marketplace.tenancy.settings import module_settings

SHIPPED = Path(__file__).resolve().parents[2] / "tenants"

MANIFEST = """\
slug = "{slug}"
kind = "market"
status = "live"
theme = "market"
timezone = "Asia/Shanghai"
currency = "CNY"
domains = ["{slug}.example.cn", "Www.{slug}.example.cn"]

[name]
zh = "中原农资批发市场"
en = "Zhongyuan Farm Supplies Market"

[district]
zh = "惠济区"
en = "Huiji District"

[address]
zh = "郑州市惠济区开元路 8 号"
en = "8 Kaiyuan Road, Huiji District"

[brand]
primary_color = "#2d6a4f"
accent_color = "#f4a261"

[modules.catalog]
provider = "agri"
[modules.search]
provider = "elasticsearch"
[modules.search.settings]
shards = 2

[layout]
buildings = [{{ code = "A", name = "A 区", floors = [{{ level = 1, width_m = 80, depth_m = 40 }}] }}]

[[categories]]
slug = "fertiliser"
name = {{ zh = "化肥", en = "Fertiliser" }}
product_type = "agri_inputs.fertiliser"

[[categories.children]]
slug = "compound-fertiliser"
name = {{ zh = "复合肥", en = "Compound fertiliser" }}
product_type = "agri_inputs.fertiliser"

[[categories.children]]
slug = "organic-fertiliser"
name = {{ zh = "有机肥", en = "Organic fertiliser" }}
product_type = "agri_inputs.fertiliser"

[[categories]]
slug = "seeds"
name = {{ zh = "种子", en = "Seeds" }}
product_type = "agri_inputs.seed"
"""


def write(root: Path, slug: str, text: str | None = None, *, folder: str | None = None) -> Path:
    path = root / (folder or slug) / "tenant.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if text is not None else MANIFEST.format(slug=slug), encoding="utf-8")
    return path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args: str):
        return runner.invoke(args=list(args))

    return invoke


def sync(cli, root: Path):
    return cli("tenants", "sync", "--path", str(root))


def tenant(slug: str) -> Tenant | None:
    db.session.expire_all()
    return db.session.scalar(select(Tenant).where(Tenant.slug == slug))


def row_counts() -> dict[str, int]:
    with all_tenants():
        return {model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
                for model in (Tenant, TenantDomain, TenantSetting, Category)}


# -- sync -------------------------------------------------------------------------------------------------

def test_sync_creates_a_tenant_from_its_manifest(cli, tmp_path):
    write(tmp_path, "nongzi")
    result = sync(cli, tmp_path)
    assert result.exit_code == 0, result.output
    assert "created   nongzi" in result.output
    assert "1 manifests: 1 created, 0 updated, 0 unchanged" in result.output

    created = tenant("nongzi")
    assert (created.kind, created.status, created.theme, created.timezone, created.currency) == (
        "market", "live", "market", "Asia/Shanghai", "CNY")
    assert (created.name_zh, created.name_en) == ("中原农资批发市场", "Zhongyuan Farm Supplies Market")
    assert (created.district_zh, created.address_en) == ("惠济区", "8 Kaiyuan Road, Huiji District")
    assert created.brand == {"primary_color": "#2d6a4f", "accent_color": "#f4a261"}
    assert created.layout["buildings"][0]["floors"][0]["width_m"] == 80
    assert [d.domain for d in created.domains] == ["nongzi.example.cn", "www.nongzi.example.cn"]

    assert module_settings["catalog"].get(created, "provider") == "agri"
    assert module_settings["search"].get(created, "provider") == "elasticsearch"
    assert module_settings["search"].get(created, "options") == {"shards": 2}
    assert module_settings["payment"].get(created, "provider") == "offline"  # not in the manifest: default

    with tenant_scope(created):
        roots = db.session.scalars(select(Category).where(Category.parent_id.is_(None))
                                   .order_by(Category.position)).all()
        assert [c.slug for c in roots] == ["fertiliser", "seeds"]
        assert [c.slug for c in roots[0].children] == ["compound-fertiliser", "organic-fertiliser"]
        assert roots[0].children[1].name_en == "Organic fertiliser"
        assert roots[0].product_type == "agri_inputs.fertiliser"
        assert roots[1].children == []


def test_synced_tenant_is_served_on_its_domain(cli, client, tmp_path):
    write(tmp_path, "nongzi")
    assert sync(cli, tmp_path).exit_code == 0
    page = client.get("http://www.nongzi.example.cn/")
    assert page.status_code == 200
    assert "中原农资批发市场" in page.get_data(as_text=True)


def test_sync_twice_reports_unchanged_and_changes_nothing(cli, tmp_path):
    write(tmp_path, "nongzi")
    write(tmp_path, "erqi", MANIFEST.format(slug="erqi").replace("中原农资批发市场", "二七服装批发城"))
    assert sync(cli, tmp_path).exit_code == 0
    counts, stamp = row_counts(), tenant("nongzi").updated_at

    again = sync(cli, tmp_path)
    assert again.exit_code == 0, again.output
    assert "unchanged nongzi" in again.output and "unchanged erqi" in again.output
    assert "2 manifests: 0 created, 0 updated, 2 unchanged" in again.output
    assert row_counts() == counts
    assert tenant("nongzi").updated_at == stamp


def test_sync_reports_what_an_edit_changed(cli, tmp_path):
    path = write(tmp_path, "nongzi")
    assert sync(cli, tmp_path).exit_code == 0
    edit(path, 'zh = "中原农资批发市场"', 'zh = "中原农资大市场"')
    edit(path, 'primary_color = "#2d6a4f"', 'primary_color = "#1b4332"')
    edit(path, 'zh = "有机肥"', 'zh = "有机肥料"')

    result = sync(cli, tmp_path)
    assert result.exit_code == 0, result.output
    assert "updated   nongzi (name_zh, brand, categories.organic-fertiliser.name_zh)" in result.output
    assert "0 created, 1 updated, 0 unchanged" in result.output
    updated = tenant("nongzi")
    assert updated.name_zh == "中原农资大市场"
    assert updated.brand["primary_color"] == "#1b4332"
    with tenant_scope(updated):
        assert db.session.scalar(select(Category.name_zh).where(Category.slug == "organic-fertiliser")) == "有机肥料"

    assert "unchanged nongzi" in sync(cli, tmp_path).output


def test_sync_adds_categories_and_updates_domains_and_modules(cli, tmp_path):
    path = write(tmp_path, "nongzi")
    assert sync(cli, tmp_path).exit_code == 0
    edit(path, '"Www.nongzi.example.cn"', '"shop.nongzi.example.cn"')
    edit(path, 'provider = "elasticsearch"', 'provider = "embedded"')
    edit(path, "shards = 2\n", "")  # the embedded backend has no options
    path.write_text(path.read_text(encoding="utf-8") + textwrap.dedent("""
        [[categories.children]]
        slug = "vegetable-seeds"
        name = { zh = "蔬菜种子", en = "Vegetable seeds" }
    """), encoding="utf-8")

    result = sync(cli, tmp_path)
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if "nongzi" in line)
    assert line.startswith("updated")
    for change in ("domains", "modules.search.provider", "categories.vegetable-seeds"):
        assert change in line
    updated = tenant("nongzi")
    assert [d.domain for d in updated.domains] == ["nongzi.example.cn", "shop.nongzi.example.cn"]
    assert module_settings["search"].get(updated, "provider") == "embedded"
    with tenant_scope(updated):
        child = db.session.scalar(select(Category).where(Category.slug == "vegetable-seeds"))
        assert child.parent.slug == "seeds"
    with all_tenants():
        assert db.session.scalar(select(TenantDomain).where(TenantDomain.domain == "www.nongzi.example.cn")) is None


def test_a_category_may_be_marked_outside_no_reason_returns_and_otherwise_keeps_the_operators_choice(cli, tmp_path):
    path = write(tmp_path, "nongzi")
    assert sync(cli, tmp_path).exit_code == 0
    with tenant_scope(tenant("nongzi")):  # the operator marks seeds in the console; the manifest says nothing
        db.session.scalar(select(Category).where(Category.slug == "seeds")).return_exclusion = "custom_made"
        db.session.commit()
    edit(path, 'product_type = "agri_inputs.fertiliser"',
         'product_type = "agri_inputs.fertiliser"\nreturn_exclusion = "near_expiry"')
    result = sync(cli, tmp_path)
    assert result.exit_code == 0, result.output
    with tenant_scope(tenant("nongzi")):
        exclusions = dict(db.session.execute(select(Category.slug, Category.return_exclusion)).all())
    assert exclusions["fertiliser"] == "near_expiry" and exclusions["seeds"] == "custom_made"


def test_sync_without_status_keeps_the_operators_launch(cli, tmp_path):
    path = write(tmp_path, "nongzi")
    edit(path, 'status = "live"\n', "")
    assert sync(cli, tmp_path).exit_code == 0
    assert tenant("nongzi").status == "draft"  # new tenants start in draft
    tenant("nongzi").status = "live"  # the operator launches it
    db.session.commit()
    assert "unchanged nongzi" in sync(cli, tmp_path).output
    assert tenant("nongzi").status == "live"


# -- invalid manifests: every problem listed, nothing applied ----------------------------------------------

BROKEN = MANIFEST.format(slug="nongzi").replace('kind = "market"', 'kind = "mall"').replace(
    'theme = "market"', 'theme = "neon"').replace('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"').replace(
    'currency = "CNY"', 'currency = "XYZ"').replace('primary_color = "#2d6a4f"', 'primary_color = "green"').replace(
    'slug = "organic-fertiliser"', 'slug = "seeds"').replace("[modules.catalog]", "[modules.teleport]")


def test_invalid_manifest_lists_every_problem_and_applies_nothing(cli, tmp_path):
    write(tmp_path, "aaa-valid")  # sorts first: would be applied first if anything were
    write(tmp_path, "nongzi", BROKEN, folder="wrong-folder")
    write(tmp_path, "Bad_Slug", MANIFEST.format(slug="Bad_Slug"))
    write(tmp_path, "zzz-valid")

    result = sync(cli, tmp_path)
    assert result.exit_code != 0
    assert "nothing applied" in result.output
    for problem in (
        "'nongzi' must match its folder name 'wrong-folder'",
        "kind must be one of street, market, not 'mall'",
        "theme 'neon' is not installed",
        "timezone 'Mars/Olympus' is unknown",
        "currency 'XYZ' is not an ISO 4217 code",
        "brand.primary_color must be a colour",
        "category slug 'seeds' appears twice",
        "[modules.teleport] is not a module kind",
        "slug 'Bad_Slug' must be lowercase letters, digits and hyphens",
    ):
        assert problem in result.output, problem
    assert str(tmp_path / "wrong-folder" / "tenant.toml") in result.output  # says which file
    assert row_counts() == {"tenants": 0, "tenant_domains": 0, "tenant_settings": 0, "categories": 0}


@pytest.mark.parametrize(("old", "new", "problem"), [
    ('slug = "nongzi"', 'slug = "-nongzi"', "slug '-nongzi' must be lowercase"),
    ('kind = "market"', 'kind = "bazaar"', "kind must be one of"),
    ('status = "live"', 'status = "open"', "status must be one of"),
    ('currency = "CNY"', 'currency = "yuan"', "currency 'yuan' is not an ISO 4217 code"),
    ('accent_color = "#f4a261"', 'accent_color = "#f4a26"', "brand.accent_color must be a colour"),
    ('accent_color = "#f4a261"', 'accent_color = "#f4a261"\nlogo = "missing.svg"', "brand.logo 'missing.svg' must name"),
    ('accent_color = "#f4a261"', 'accent_color = "#f4a261"\nlogo = "../tenant.toml"', "brand.logo '../tenant.toml'"),
    ('accent_color = "#f4a261"', 'accent_color = "#f4a261"\nfont = "Comic"', "[brand] has unknown keys: font"),
    ('"Www.nongzi.example.cn"', '"not a domain"', "domains must be a list of host names"),
    ('en = "Zhongyuan Farm Supplies Market"', 'en = ""', "[name] needs both zh and en"),
    ('provider = "agri"', 'provider = 3', '[modules.catalog] needs provider'),
    ('provider = "elasticsearch"', 'provider = "solr"', "[modules.search] unknown search backend 'solr'"),
    ("shards = 2", "shards = 2\nindex = \"shared\"", "[modules.search] search backend 'elasticsearch' has no option index"),
    ("shards = 2", 'shards = "two"', "[modules.search] search option shards must be int"),
    ("[[categories]]\nslug = \"seeds\"", "[[categories]]\nslug = \"Seeds!\"", "slug 'Seeds!' must be lowercase"),
    ('slug = "nongzi"', 'slug = "nongzi', "cannot be read as TOML"),
    ("[modules.catalog]", '[modules.payment]\nprovider = "paypal"\n[modules.catalog]', "unknown payment provider 'paypal'"),
    ("[modules.catalog]", '[modules.payment]\nprovider = "offline"\nsettings = { methods = ["barter"] }\n'
     "[modules.catalog]", "offers methods pay_at_stall, cash_on_delivery, bank_transfer, not barter"),
    ('product_type = "agri_inputs.fertiliser"', 'product_type = "agri_inputs.fertiliser"\nreturn_exclusion = "smelly"',
     "return_exclusion 'smelly' must be one of custom_made, perishable"),
])
def test_each_kind_of_problem_is_refused(cli, tmp_path, old, new, problem):
    path = write(tmp_path, "nongzi")
    edit(path, old, new)
    result = sync(cli, tmp_path)
    assert result.exit_code != 0
    assert problem in result.output
    assert tenant("nongzi") is None


OPERATOR = '[operator]\nname = "郑州中原农资市场管理有限公司"\nuscc = "{uscc}"\n[modules.catalog]'


def test_the_operating_organisation_is_recorded_and_a_manifest_without_it_keeps_the_consoles(cli, tmp_path):
    path = write(tmp_path, "nongzi")
    edit(path, "[modules.catalog]", OPERATOR.format(uscc="９１４１０１２２ma45d8k3nx"))  # as typed by an IME
    assert sync(cli, tmp_path).exit_code == 0
    market = tenant("nongzi")
    assert (market.operator_name, market.operator_uscc) == ("郑州中原农资市场管理有限公司", "91410122MA45D8K3NX")

    edit(path, OPERATOR.format(uscc="９１４１０１２２ma45d8k3nx"), "[modules.catalog]")
    assert "unchanged nongzi" in sync(cli, tmp_path).output
    assert tenant("nongzi").operator_uscc == "91410122MA45D8K3NX"


@pytest.mark.parametrize(("operator", "problem"), [
    ('name = "某公司"\nuscc = "91410122MA45D8K3NY"', "operator.uscc '91410122MA45D8K3NY' is not a valid"),
    ('name = "某公司"\nuscc = "91410122MA45D8K3"', "operator.uscc '91410122MA45D8K3' is not a valid"),
    ('name = "某公司"', "operator.uscc '' is not a valid"),
    ('uscc = "91410122MA45D8K3NX"', "operator.name must be the organisation's registered name"),
    ('name = "某公司"\nuscc = "91410122MA45D8K3NX"\ncode = "x"', "[operator] has unknown keys: code"),
])
def test_a_bad_operating_organisation_is_a_manifest_error_naming_the_field(cli, tmp_path, operator, problem):
    path = write(tmp_path, "nongzi")
    edit(path, "[modules.catalog]", f"[operator]\n{operator}\n[modules.catalog]")
    result = sync(cli, tmp_path)
    assert result.exit_code != 0 and problem in result.output, result.output
    assert tenant("nongzi") is None


def test_domain_of_another_tenant_is_refused(cli, tmp_path, make_tenant):
    owner = make_tenant(slug="dehua", name_zh="德化步行街")
    db.session.add(TenantDomain(tenant_id=owner.id, domain="www.nongzi.example.cn"))
    db.session.commit()
    write(tmp_path, "aaa-valid")  # valid and applied before the clash is found: rolled back too
    write(tmp_path, "nongzi")

    result = sync(cli, tmp_path)
    assert result.exit_code != 0
    assert "domain www.nongzi.example.cn already belongs to another tenant" in result.output
    assert tenant("nongzi") is None and tenant("aaa-valid") is None
    with all_tenants():
        assert db.session.scalars(select(TenantDomain.domain)).all() == ["www.nongzi.example.cn"]
    assert [d.domain for d in tenant("dehua").domains] == ["www.nongzi.example.cn"]


def test_shipped_manifests_are_valid(app):
    paths = manifests.discover_manifests(SHIPPED)
    assert [p.parent.name for p in paths] == ["apparel-market", "dehua-street", "nongzi-market"]
    for path in paths:
        manifest = manifests.load_manifest(path, set(app.extensions["themes"]))
        assert manifest.slug == path.parent.name
        assert manifest.categories, f"{path} has no categories"
        assert manifest.operator and manifest.operator["name"], f"{path} names no operating organisation (PC-21)"


def test_shipped_manifests_sync(cli):
    result = cli("tenants", "sync")  # the configured folder: the shipped tenants/
    assert result.exit_code == 0, result.output
    assert "3 manifests: 3 created" in result.output
    names = {t.slug: (t.name_zh, t.kind, t.status) for t in db.session.scalars(select(Tenant))}
    assert names == {
        "dehua-street": ("德化步行街", "street", "live"),
        "nongzi-market": ("中原农资批发市场", "market", "live"),
        "apparel-market": ("二七服装批发城", "market", "live"),
    }
    assert "3 unchanged" in cli("tenants", "sync").output


# -- create and list --------------------------------------------------------------------------------------

def test_create_makes_a_draft_tenant(cli, client):
    result = cli("tenants", "create", "jinshui-night-market", "--kind", "street", "--name-zh", "金水夜市",
                 "--name-en", "Jinshui Night Market")
    assert result.exit_code == 0, result.output
    assert "created jinshui-night-market (street, draft)" in result.output
    created = tenant("jinshui-night-market")
    assert (created.status, created.kind, created.theme, created.name_en) == (
        "draft", "street", "street", "Jinshui Night Market")
    assert client.get("/t/jinshui-night-market/").status_code == 404  # not open to the public yet


def test_create_refuses_a_duplicate_slug(cli, make_tenant):
    make_tenant(slug="dehua-street", name_zh="德化步行街")
    result = cli("tenants", "create", "dehua-street", "--kind", "street", "--name-zh", "另一条街",
                 "--name-en", "Another Street")
    assert result.exit_code != 0
    assert "tenant 'dehua-street' already exists" in result.output
    assert tenant("dehua-street").name_zh == "德化步行街"
    assert db.session.scalar(select(func.count()).select_from(Tenant)) == 1


@pytest.mark.parametrize("slug", ["Bad_Slug", "dash-", "有中文", "x" * 64])
def test_create_refuses_a_bad_slug(cli, slug):
    result = cli("tenants", "create", slug, "--kind", "market", "--name-zh", "市场", "--name-en", "Market")
    assert result.exit_code != 0
    assert "must be lowercase letters, digits and hyphens" in result.output
    assert db.session.scalar(select(func.count()).select_from(Tenant)) == 0


def test_create_refuses_an_unknown_theme(cli):
    result = cli("tenants", "create", "new-market", "--kind", "market", "--name-zh", "市场", "--name-en", "Market",
                 "--theme", "neon")
    assert result.exit_code != 0
    assert "theme 'neon' is not installed" in result.output
    assert tenant("new-market") is None


def test_list_prints_each_tenant_with_kind_status_and_shops(cli, make_tenant, make_shop):
    street = make_tenant(slug="dehua-street", name_zh="德化步行街", name_en="Dehua Street")
    market = make_tenant(slug="nongzi-market", name_zh="中原农资批发市场", kind="market", status="draft")
    for _ in range(3):
        make_shop(street)
    make_shop(market)
    result = cli("tenants", "list")
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split() for line in result.output.splitlines() if line.strip()}
    assert lines["dehua-street"][1:5] == ["street", "live", "3", "shops"]
    assert lines["nongzi-market"][1:5] == ["market", "draft", "1", "shops"]
    assert "德化步行街 / Dehua Street" in result.output


def test_list_without_tenants_says_how_to_add_one(cli):
    result = cli("tenants", "list")
    assert result.exit_code == 0
    assert "no tenants yet" in result.output
