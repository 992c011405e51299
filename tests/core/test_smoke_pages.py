from marketplace.accounts.models import Role


def test_portal_lists_live_tenants_with_shop_counts(client, make_tenant, make_shop):
    live = make_tenant(name_zh="德化步行街", district_zh="二七区")
    make_shop(live)
    make_shop(live)
    make_tenant(name_zh="筹备中的市场", status="draft")
    html = client.get("/").get_data(as_text=True)
    assert "德化步行街" in html and "2 家店铺" in html and "二七区" in html
    assert "筹备中的市场" not in html


def test_tenant_home_lists_its_shops(client, make_tenant, make_shop):
    tenant = make_tenant()
    make_shop(tenant, name_zh="鲜果坊", street_number="58", street_side="east")
    response = client.get(f"/t/{tenant.slug}/")
    assert response.status_code == 200
    assert "鲜果坊" in response.get_data(as_text=True)


def test_login_with_demo_style_account(client, make_user):
    make_user("13903719001", role=None)
    client.login("139 0371 9001", "correct-horse-42")
    assert client.get("/account/").status_code == 200
    assert Role.platform_admin.label
