"""Reviews: only the buyer of a completed line, once; nobody deletes one or rewrites it on any path; a hide needs a
listed reason and keeps the counts; one reply; the hash chain (and its command) shows an edited row."""

from __future__ import annotations

import pytest
from flask import render_template_string
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from marketplace.accounts.models import Role
from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.tenancy.context import activate, tenant_scope
from marketplace.trust import reviews
from marketplace.trust.reviews import Review, ReviewError, ReviewLog, ReviewsAreKept
from tests.media.samples import encode, picture
from tests.orders.test_place_order import fill

PASSWORD = "correct-horse-42"
GOOD = {"product": 5, "described": 4, "service": 3, "delivery": 2}
TO_COMPLETED = ("paid", "accepted", "ready_for_pickup", "picked_up", "completed")


def place(tenant, buyer, lines: dict, key: str, steps=TO_COMPLETED):
    cart = fill(tenant, buyer, lines)
    with tenant_scope(tenant):
        order = orders.place_order(tenant, buyer.id, cart, key).orders[0]
        for step in steps:
            orders.transition(order, step)
        db.session.commit()
        return order


def review(tenant, order, buyer, line=0, **kw) -> Review:
    with tenant_scope(tenant):
        made = reviews.create_review(tenant, order.lines[line], buyer.id, ratings=kw.pop("ratings", GOOD), **kw)
        db.session.commit()
        return made


def fresh(tenant, review_id: int) -> Review:
    """The review as the database has it now (requests wrote it through their own sessions)."""
    db.session.expire_all()
    with tenant_scope(tenant):
        return db.session.get(Review, review_id)


def verify(app, *args):
    return app.test_cli_runner().invoke(args=["trust", "verify-reviews", *args])


# -- who may review ---------------------------------------------------------------------------------------------

def test_only_the_buyer_of_a_completed_line_reviews_it_and_only_once(market, make_user):
    tenant, _shop, apples, pears, buyer = market
    stranger = make_user()
    open_order = place(tenant, buyer, {apples: 1}, "open", steps=("paid", "accepted"))
    done = place(tenant, buyer, {apples: 1, pears: 2}, "done")
    with tenant_scope(tenant):
        for line, who, code in ((open_order.lines[0], buyer, "not_completed"),  # bought, not completed
                                (done.lines[0], stranger, "not_buyer")):  # never bought it: someone else's line
            with pytest.raises(ReviewError) as refused:
                reviews.create_review(tenant, line, who.id, ratings=GOOD)
            assert refused.value.code == code
        for bad, code in (({**GOOD, "service": 0}, "rating"), ({**GOOD, "product": "6"}, "rating"),
                          ({k: v for k, v in GOOD.items() if k != "delivery"}, "rating")):
            with pytest.raises(ReviewError) as refused:
                reviews.create_review(tenant, done.lines[0], buyer.id, ratings=bad)
            assert refused.value.code == code
        with pytest.raises(ReviewError) as long_text:
            reviews.create_review(tenant, done.lines[0], buyer.id, ratings=GOOD, text="好" * 1001)
        assert long_text.value.code == "text"
        assert db.session.scalar(select(Review)) is None
    made = review(tenant, done, buyer, text="  很甜\x00\u202e，\r\n\r\n\r\n\r\n下次还买  <b>x</b> ")
    assert made.text == "很甜，\n\n下次还买  <b>x</b>"  # control characters gone; markup is escaped when shown
    with tenant_scope(tenant):
        with pytest.raises(ReviewError) as again:
            reviews.create_review(tenant, done.lines[0], buyer.id, ratings=GOOD)
        assert again.value.code == "already_reviewed"
        review(tenant, done, buyer, line=1)  # the other line of the order is its own review
        assert db.session.scalar(select(db.func.count(Review.id))) == 2


def test_photos_go_through_the_image_pipeline_at_most_six(market):
    tenant, _shop, apples, _pears, buyer = market
    done = place(tenant, buyer, {apples: 1}, "photos")
    png = encode(picture(), "PNG")
    with tenant_scope(tenant):
        with pytest.raises(ReviewError) as too_many:
            reviews.create_review(tenant, done.lines[0], buyer.id, ratings=GOOD, photos=[png] * 7)
        assert too_many.value.code == "photos"
        with pytest.raises(ReviewError) as not_an_image:
            reviews.create_review(tenant, done.lines[0], buyer.id, ratings=GOOD, photos=[b"<svg/>"])
        assert not_an_image.value.code == "photos"
    made = review(tenant, done, buyer, photos=[png, png])
    assert len(made.photos) == 2 and len(made.photos[0]["sha256"]) == 64


# -- nobody deletes, nobody rewrites ----------------------------------------------------------------------------

def _refused(attempt, error=ReviewsAreKept):
    with pytest.raises(error):
        attempt()
    db.session.rollback()


def test_no_path_deletes_a_review_or_changes_what_the_buyer_wrote(market, app):
    tenant, _shop, apples, _pears, buyer = market
    made = review(tenant, place(tenant, buyer, {apples: 1}, "keep"), buyer, text="原话")
    with tenant_scope(tenant):
        def orm_delete():
            db.session.delete(db.session.get(Review, made.id))
            db.session.flush()

        def orm_edit():
            db.session.get(Review, made.id).rating_product = 1
            db.session.flush()

        def log_delete():
            db.session.delete(db.session.scalar(select(ReviewLog)))
            db.session.flush()

        _refused(orm_delete)
        _refused(orm_edit)
        _refused(log_delete)
        _refused(lambda: db.session.execute(delete(Review)))
        _refused(lambda: db.session.execute(delete(Review).where(Review.id == made.id)))
        _refused(lambda: db.session.execute(update(Review).values(text="改过")))
        _refused(lambda: db.session.execute(delete(ReviewLog)))
        # Around the ORM altogether: the database's triggers refuse.
        _refused(lambda: db.session.execute(text("DELETE FROM reviews")), DBAPIError)
        _refused(lambda: db.session.execute(text("UPDATE reviews SET text = '改过'")), DBAPIError)
        _refused(lambda: db.session.execute(text("UPDATE reviews SET rating_service = 1")), DBAPIError)
        _refused(lambda: db.session.execute(text("DELETE FROM review_logs")), DBAPIError)
        _refused(lambda: db.session.execute(text("UPDATE review_logs SET payload = '{}'")), DBAPIError)
        kept = db.session.get(Review, made.id)
        assert (kept.text, kept.rating_product) == ("原话", 5)
        assert db.session.scalar(select(db.func.count(ReviewLog.id))) == 1
    for rule in app.url_map.iter_rules():  # and no page or API offers to delete one
        if "review" in rule.rule:
            assert "DELETE" not in rule.methods and "delete" not in rule.endpoint, rule


def test_the_merchant_replies_once(market, make_shop, make_user):
    tenant, shop, apples, _pears, buyer = market
    owner = make_user(role=Role.merchant_owner, shop=shop)
    other_shop = make_shop(tenant)
    made = review(tenant, place(tenant, buyer, {apples: 1}, "reply"), buyer)
    with tenant_scope(tenant):
        made = db.session.get(Review, made.id)
        with pytest.raises(ReviewError) as elsewhere:
            reviews.reply(tenant, made, other_shop, owner.id, "不是我家的")
        assert elsewhere.value.code == "wrong_shop"
        with pytest.raises(ReviewError) as empty:
            reviews.reply(tenant, made, shop, owner.id, "  \x00 ")
        assert empty.value.code == "reply"
        reviews.reply(tenant, made, shop, owner.id, "谢谢惠顾")
        db.session.commit()
        with pytest.raises(ReviewError) as twice:
            reviews.reply(tenant, made, shop, owner.id, "再说一句")
        assert twice.value.code == "already_replied"

        def rewrite_reply():
            db.session.get(Review, made.id).reply = "改过的回复"
            db.session.flush()

        _refused(rewrite_reply)
        _refused(lambda: db.session.execute(text("UPDATE reviews SET reply = '改过'")), DBAPIError)
        assert db.session.get(Review, made.id).reply == "谢谢惠顾"


def test_a_hide_needs_a_listed_reason_is_kept_with_who_and_why_and_the_counts_stay(market, make_user):
    tenant, shop, apples, pears, buyer = market
    operator = make_user(role=Role.tenant_operator, tenant=tenant)
    low = review(tenant, place(tenant, buyer, {apples: 1}, "low"), buyer,
                 ratings={"product": 1, "described": 1, "service": 1, "delivery": 1}, text="加我微信买便宜货")
    review(tenant, place(tenant, buyer, {pears: 1}, "high"), buyer, text="好")
    with tenant_scope(tenant):
        before = reviews.shop_ratings(shop)
        assert before.count == 2 and before.average("product") == 3.0 and before.average("service") == 2.0
        low = db.session.get(Review, low.id)
        with pytest.raises(ReviewError) as no_reason:
            reviews.hide(tenant, low, operator.id, "差评")  # "a bad review" is no reason
        assert no_reason.value.code == "reason"
        reviews.hide(tenant, low, operator.id, "ads")
        db.session.commit()
        with pytest.raises(ReviewError) as twice:
            reviews.hide(tenant, low, operator.id, "illegal")
        assert twice.value.code == "already_hidden"
        hidden = db.session.get(Review, low.id)
        assert (hidden.hidden_by_id, hidden.hidden_reason, hidden.text) == (operator.id, "ads", "加我微信买便宜货")
        entry = db.session.scalar(select(ReviewLog).where(ReviewLog.kind == "hidden"))
        assert entry.review_id == low.id and f'"by":{operator.id}' in entry.payload and '"reason":"ads"' in entry.payload
        after = reviews.shop_ratings(shop)
        assert (after.count, after.averages) == (before.count, before.averages)
        assert [r.id for r in reviews.latest_reviews(shop=shop)][0] != low.id  # newest first, hidden or not
        assert len(reviews.latest_reviews(shop=shop)) == 2


# -- the hash chain -------------------------------------------------------------------------------------------

def _drop_trigger(name: str, table: str) -> None:
    """What someone with the database's keys would do first: the chain must still show what they did next."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text(f"DROP TRIGGER {name} ON {table}"))
    else:
        db.session.execute(text(f"DROP TRIGGER {name}"))


@pytest.fixture
def chained(market, make_user):
    tenant, shop, apples, pears, buyer = market
    owner = make_user(role=Role.merchant_owner, shop=shop)
    operator = make_user(role=Role.tenant_operator, tenant=tenant)
    first = review(tenant, place(tenant, buyer, {apples: 1}, "c1"), buyer, text="第一条")
    second = review(tenant, place(tenant, buyer, {pears: 1}, "c2"), buyer, text="第二条")
    with tenant_scope(tenant):
        reviews.reply(tenant, db.session.get(Review, first.id), shop, owner.id, "谢谢")
        reviews.hide(tenant, db.session.get(Review, second.id), operator.id, "privacy")
        db.session.commit()
        assert [e.seq for e in db.session.scalars(select(ReviewLog).order_by(ReviewLog.seq))] == [1, 2, 3, 4]
    return tenant, first, second


def test_an_intact_chain_verifies(app, chained):
    tenant, *_ = chained
    result = verify(app, "--tenant", tenant.slug)
    assert result.exit_code == 0, result.output
    assert "4" in result.output
    with tenant_scope(tenant):
        assert reviews.verify_chain(tenant).intact


def test_the_chain_shows_an_edited_review_row(app, chained):
    tenant, first, _second = chained
    _drop_trigger("reviews_no_rewrite", "reviews")
    db.session.execute(text("UPDATE reviews SET rating_product = 1, text = '差' WHERE id = :id"), {"id": first.id})
    db.session.commit()
    result = verify(app, "--tenant", tenant.slug)
    assert result.exit_code == 1
    assert "entry #1" in result.output and f"review {first.id}" in result.output


def test_the_chain_shows_an_edited_reply(app, chained):
    tenant, first, _second = chained
    _drop_trigger("reviews_no_rewrite", "reviews")
    db.session.execute(text("UPDATE reviews SET reply = '改过' WHERE id = :id"), {"id": first.id})
    db.session.commit()
    result = verify(app)
    assert result.exit_code == 1 and "entry #3" in result.output


def test_the_chain_shows_an_edited_log_row_even_with_a_consistent_review(app, chained):
    tenant, first, _second = chained
    trigger = "review_logs_no_change" if db.session.get_bind().dialect.name == "postgresql" else "review_logs_no_update"
    _drop_trigger(trigger, "review_logs")
    _drop_trigger("reviews_no_rewrite", "reviews")
    # Edit both the row and its entry's payload: the entry's hash no longer matches.
    db.session.execute(text("UPDATE reviews SET text = '改' WHERE id = :id"), {"id": first.id})
    db.session.expire_all()
    with tenant_scope(tenant):
        entry = db.session.scalar(select(ReviewLog).where(ReviewLog.seq == 1))
        forged = reviews.canonical(reviews.payload_for(db.session.get(Review, first.id), "created"))
    db.session.execute(text("UPDATE review_logs SET payload = :p WHERE id = :id"), {"p": forged, "id": entry.id})
    db.session.commit()
    result = verify(app, "--tenant", tenant.slug)
    assert result.exit_code == 1 and "entry #1" in result.output and "hash" in result.output
    # Re-hashing the forged entry too is caught by the next entry's prev_hash.
    db.session.execute(text("UPDATE review_logs SET hash = :h WHERE id = :id"),
                       {"h": reviews.chain_hash(reviews.GENESIS, forged), "id": entry.id})
    db.session.commit()
    result = verify(app, "--tenant", tenant.slug)
    assert result.exit_code == 1 and "entry #2" in result.output and "prev_hash" in result.output


def test_the_chain_shows_a_missing_log_row(app, chained):
    tenant, *_ = chained
    trigger = "review_logs_no_change" if db.session.get_bind().dialect.name == "postgresql" else "review_logs_no_delete"
    _drop_trigger(trigger, "review_logs")
    db.session.execute(text("DELETE FROM review_logs WHERE seq = 2 AND tenant_id = :t"), {"t": tenant.id})
    db.session.commit()
    result = verify(app, "--tenant", tenant.slug)
    assert result.exit_code == 1 and "entry #3" in result.output and "missing" in result.output
    # The last entries gone leave no gap, but the reply and the hide they recorded have no entry any more.
    db.session.execute(text("DELETE FROM review_logs WHERE seq >= 3 AND tenant_id = :t"), {"t": tenant.id})
    db.session.commit()
    result = verify(app, "--tenant", tenant.slug)
    assert result.exit_code == 1 and "no replied entry" in result.output


def test_verify_names_an_unknown_tenant(app, chained):
    result = verify(app, "--tenant", "no-such-place")
    assert result.exit_code != 0 and "no-such-place" in result.output


# -- pages ----------------------------------------------------------------------------------------------------

def test_the_buyer_reviews_a_completed_line_from_the_order(client, market, make_user):
    tenant, _shop, apples, _pears, buyer = market
    done = place(tenant, buyer, {apples: 1}, "web")
    with tenant_scope(tenant):
        url = f"/t/{tenant.slug}/orders/{done.group.number}/{done.number}/lines/{done.lines[0].id}/review"
    client.login("buyer@shangdu.example", PASSWORD)
    page = client.get(url)
    assert page.status_code == 200 and "描述相符" in page.get_data(as_text=True)
    refused = client.submit(url, {**GOOD, "service": "9", "text": "好"})
    assert refused.status_code == 400 and "1 到 5" in refused.get_data(as_text=True)
    photo = (__import__("io").BytesIO(encode(picture(), "PNG")), "apple.png")
    sent = client.submit(url, {**{k: str(v) for k, v in GOOD.items()}, "text": "很甜", "photos": photo},
                         content_type="multipart/form-data")
    assert sent.status_code == 303
    db.session.expire_all()
    with tenant_scope(tenant):
        made = db.session.scalar(select(Review))
        assert (made.text, made.rating_delivery, len(made.photos)) == ("很甜", 2, 1)
    again = client.submit(url, {**GOOD, "text": "再来"})
    assert again.status_code == 303
    assert "很甜" in client.get(url).get_data(as_text=True)
    with tenant_scope(tenant):
        assert db.session.scalar(select(db.func.count(Review.id))) == 1

    make_user("other@shangdu.example")
    other = client.__class__(client.application)
    other.login("other@shangdu.example", PASSWORD)
    assert other.get(url).status_code == 404  # someone else's line is not found


def test_merchant_replies_and_operator_hides_from_the_consoles(client, market, make_user, make_tenant):
    tenant, shop, apples, _pears, buyer = market
    make_user("owner@shangdu.example", role=Role.merchant_owner, shop=shop)
    make_user("operator@shangdu.example", role=Role.tenant_operator, tenant=tenant)
    made = review(tenant, place(tenant, buyer, {apples: 1}, "console"), buyer, text="<script>x</script>还行")
    client.login("owner@shangdu.example", PASSWORD)
    listing = f"/merchant/{tenant.slug}/{shop.slug}/reviews"
    page = client.get(listing).get_data(as_text=True)
    assert "&lt;script&gt;" in page and "<script>x" not in page
    assert client.submit(f"{listing}/{made.id}/reply", {"reply": "谢谢"}, page_url=listing).status_code == 303
    assert client.submit(f"{listing}/{made.id}/reply", {"reply": "再谢"}, page_url=listing).status_code == 303
    assert fresh(tenant, made.id).reply == "谢谢"

    client.login("operator@shangdu.example", PASSWORD)
    operator_page = f"/operator/{tenant.slug}/reviews"
    assert client.get(operator_page).status_code == 200
    client.submit(f"{operator_page}/{made.id}/hide", {"reason": "不喜欢"}, page_url=operator_page)
    assert fresh(tenant, made.id).hidden_at is None
    client.submit(f"{operator_page}/{made.id}/hide", {"reason": "illegal"}, page_url=operator_page)
    assert fresh(tenant, made.id).hidden_reason == "illegal"
    with tenant_scope(tenant):
        assert reviews.shop_ratings(shop).count == 1

    # Another tenant's operator and URLs find nothing of this tenant's.
    elsewhere = make_tenant(slug="elsewhere")
    make_user("operator-b@shangdu.example", role=Role.platform_admin)
    client.login("operator-b@shangdu.example", PASSWORD)
    assert client.submit(f"/operator/{elsewhere.slug}/reviews/{made.id}/hide", {"reason": "ads"},
                         page_url=f"/operator/{elsewhere.slug}/reviews").status_code == 404


def test_the_list_partial_shows_reviews_newest_first_and_hidden_ones_as_hidden(app, market, make_user):
    tenant, shop, apples, pears, buyer = market
    operator = make_user(role=Role.tenant_operator, tenant=tenant)
    first = review(tenant, place(tenant, buyer, {apples: 1}, "l1"), buyer, text="第一条评价")
    review(tenant, place(tenant, buyer, {pears: 1}, "l2"), buyer, text="第二条评价")
    with tenant_scope(tenant):
        reviews.hide(tenant, db.session.get(Review, first.id), operator.id, "privacy")
        db.session.commit()
    with app.test_request_context(f"/t/{tenant.slug}/"):
        activate(tenant)
        html = render_template_string('{% include themed("reviews/_list.html") %}', shop=shop)
        assert "买家评价 (2)" in html and "张*" in html and "张三丰" not in html
        assert "第二条评价" in html and "第一条评价" not in html and "侵犯他人隐私" in html
        assert html.index("第二条评价") < html.index("侵犯他人隐私")
        product_html = render_template_string('{% include themed("reviews/_list.html") %}', product=pears)
        assert "买家评价 (1)" in product_html and "第二条评价" in product_html


def test_the_order_page_link_offers_a_review_only_for_completed_lines(app, market):
    tenant, _shop, apples, pears, buyer = market
    done = place(tenant, buyer, {apples: 1, pears: 1}, "link")
    waiting = place(tenant, buyer, {apples: 1}, "link-open", steps=("paid",))
    review(tenant, done, buyer, line=1)
    snippet = '{% include themed("reviews/_line_link.html") %}'
    with app.test_request_context(f"/t/{tenant.slug}/"):
        activate(tenant)
        group = done.group
        first, second = (render_template_string(snippet, group=group, order=done, line=line) for line in done.lines)
        assert "评价</a>" in first and f"/lines/{done.lines[0].id}/review" in first
        assert "查看评价" in second
        assert render_template_string(snippet, group=waiting.group, order=waiting, line=waiting.lines[0]).strip() == ""
