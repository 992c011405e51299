"""Signed checkpoints of the review chain: a chain rebuilt after an edit no longer matches what was published."""

from __future__ import annotations

import base64
import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select, text

from marketplace.extensions import db
from marketplace.tenancy.context import tenant_scope
from marketplace.trust import badges, checkpoints, reviews
from marketplace.trust.reviews import Review, ReviewLog
from tests.trust import test_reviews
from tests.trust.test_reviews import _drop_trigger, verify

chained = test_reviews.chained  # the fixture: four entries (two reviews, a reply, a hide)


def anchor(app):
    return app.test_cli_runner().invoke(args=["trust", "anchor-reviews"])


def test_the_head_is_signed_once_and_published_with_a_verifiable_signature(app, client, chained):
    tenant, *_ = chained
    result = anchor(app)
    assert result.exit_code == 0 and f"{tenant.slug}：已签名评价链第 4 条记录" in result.output
    assert "共为 0 个市场" in anchor(app).output  # nothing new since: no second checkpoint

    published = client.get(f"/verify/reviews/{tenant.slug}.json").get_json()
    [point] = published["checkpoints"]
    with tenant_scope(tenant):
        head = db.session.scalar(select(ReviewLog).where(ReviewLog.seq == 4))
    assert point["seq"] == 4 and point["hash"] == head.hash
    # Anyone can check it offline with the key published at /verify/keys.
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(badges.public_key_raw_b64()))
    key.verify(base64.b64decode(point["signature"]), point["payload"].encode())
    assert json.loads(point["payload"]) == {"v": 1, "kind": "review-chain", "tenant": tenant.slug, "seq": 4,
                                            "hash": head.hash, "at": point["at"]}
    page = client.get(f"/verify/reviews/{tenant.slug}").get_data(as_text=True)
    assert head.hash in page and point["signature"] in page
    assert client.get("/verify/reviews/no-such-market").status_code == 404


def test_a_chain_rebuilt_after_an_edit_fails_against_the_signed_checkpoint(app, chained):
    tenant, first, _second = chained
    assert anchor(app).exit_code == 0
    # Someone with the database's keys edits a review and rebuilds the whole chain so that it is consistent again.
    trigger = "review_logs_no_change" if db.session.get_bind().dialect.name == "postgresql" else "review_logs_no_update"
    _drop_trigger(trigger, "review_logs")
    _drop_trigger("reviews_no_rewrite", "reviews")
    db.session.execute(text("UPDATE reviews SET text = '好评' WHERE id = :id"), {"id": first.id})
    db.session.expire_all()
    with tenant_scope(tenant):
        prev = reviews.GENESIS
        for entry in db.session.scalars(select(ReviewLog).order_by(ReviewLog.seq)).all():
            payload = reviews.canonical(reviews.payload_for(db.session.get(Review, entry.review_id), entry.kind))
            rebuilt = reviews.chain_hash(prev, payload)
            db.session.execute(text("UPDATE review_logs SET payload = :p, prev_hash = :prev, hash = :h WHERE id = :id"),
                               {"p": payload, "prev": prev, "h": rebuilt, "id": entry.id})
            prev = rebuilt
        db.session.commit()
        assert reviews.verify_chain(tenant).intact  # the chain alone cannot tell
        db.session.rollback()
    result = verify(app, "--tenant", tenant.slug)
    assert result.exit_code == 1
    assert "entry #4" in result.output and "rewritten" in result.output


def test_an_edited_checkpoint_fails_its_signature(app, chained):
    tenant, *_ = chained
    assert anchor(app).exit_code == 0
    _drop_trigger("reviews_no_rewrite", "reviews")  # (no trigger guards checkpoints: the signature does)
    db.session.execute(text("UPDATE review_checkpoints SET seq = 3 WHERE tenant_id = :t"), {"t": tenant.id})
    db.session.commit()
    result = verify(app, "--tenant", tenant.slug)
    assert result.exit_code == 1 and "signature" in result.output


def test_checkpoints_cannot_be_changed_through_the_application(app, chained):
    tenant, *_ = chained
    assert anchor(app).exit_code == 0
    with tenant_scope(tenant):
        [point] = checkpoints.checkpoints_of(tenant)
        point.hash = "0" * 64
        try:
            db.session.flush()
        except reviews.ReviewsAreKept:
            db.session.rollback()
        else:
            raise AssertionError("a checkpoint was changed")


def test_a_tampered_chain_gets_no_signature(app, chained):
    tenant, first, _second = chained
    _drop_trigger("reviews_no_rewrite", "reviews")
    db.session.execute(text("UPDATE reviews SET text = '改过' WHERE id = :id"), {"id": first.id})
    db.session.commit()
    result = anchor(app)
    assert result.exit_code == 1 and "不签名" in result.output and "entry #1" in result.output
    with tenant_scope(tenant):
        assert checkpoints.checkpoints_of(tenant) == []
