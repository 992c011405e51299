"""Signed checkpoints of the review chains: an anchor outside the database for "no review was rewritten".

A hash chain shows an edited entry, but someone able to write the database could rebuild the whole chain from the
edit onwards. So, daily (``flask trust anchor-reviews``), the platform signs each tenant's chain head — its length
and last hash — with the badge key (Ed25519; the private key lives in the environment, never in the database)
and publishes the signed checkpoints at ``/verify/reviews/<tenant>`` (and as JSON). A rebuilt chain no longer
contains the published hashes: ``flask trust verify-reviews`` checks every stored checkpoint against the chain
and its signature against the key, and anyone who kept a copy of a checkpoint can check it against a later one.

The signed payload: canonical JSON (sorted keys, no spaces, UTF-8) of
``{"v": 1, "kind": "review-chain", "tenant": <slug>, "seq": <entries>, "hash": <hex>, "at": <UTC time>}``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint, event, select
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.db import UTCDateTime, utcnow
from marketplace.extensions import db
from marketplace.tenancy.models import Tenant, TenantScoped
from marketplace.trust import badges
from marketplace.trust.reviews import ReviewLog, ReviewsAreKept

PAYLOAD_VERSION = 1
#: How many checkpoints the public page lists (the JSON has them all).
SHOWN = 60


class ReviewCheckpoint(TenantScoped, db.Model):
    """The platform's signature over a tenant's review chain as it stood: ``seq`` entries ending in ``hash``."""

    __tablename__ = "review_checkpoints"
    __table_args__ = (UniqueConstraint("tenant_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column()
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Base64 Ed25519 signature of ``payload(...)``.
    signature: Mapped[str] = mapped_column(Text)


@event.listens_for(ReviewCheckpoint, "before_delete")
@event.listens_for(ReviewCheckpoint, "before_update")
def _kept(_mapper, _connection, target) -> None:
    raise ReviewsAreKept(f"checkpoint {target.id} cannot be deleted or changed")


def payload(tenant_slug: str, seq: int, chain_hash: str, at: datetime) -> bytes:
    return badges.canonical_payload({"v": PAYLOAD_VERSION, "kind": "review-chain", "tenant": tenant_slug,
                                     "seq": seq, "hash": chain_hash, "at": badges.timestamp(at)})


def checkpoints_of(tenant: Tenant) -> list[ReviewCheckpoint]:
    """The tenant's checkpoints, newest first."""
    return list(db.session.scalars(select(ReviewCheckpoint).where(ReviewCheckpoint.tenant_id == tenant.id)
                                   .order_by(ReviewCheckpoint.seq.desc())))


class ChainBroken(RuntimeError):
    """The chain does not verify: the platform signs no head of a tampered chain."""


def take_checkpoint(tenant: Tenant, now: datetime | None = None) -> ReviewCheckpoint | None:
    """Sign the chain's head if it moved since the last checkpoint (None when it did not, or is empty). Raises
    ``ChainBroken`` when the chain, or an earlier checkpoint, does not verify. Run inside ``tenant_scope(tenant)``;
    flushes, the caller commits."""
    from marketplace.trust.reviews import verify_chain

    report = verify_chain(tenant)  # (takes the chain's lock, held until the caller commits)
    problem = str(report.broken) if not report.intact else checkpoint_problem(tenant)
    if problem:
        raise ChainBroken(problem)
    head = db.session.execute(select(ReviewLog.seq, ReviewLog.hash).where(ReviewLog.tenant_id == tenant.id)
                              .order_by(ReviewLog.seq.desc()).limit(1)).first()
    if head is None:
        return None
    last = db.session.scalar(select(ReviewCheckpoint.seq).where(ReviewCheckpoint.tenant_id == tenant.id)
                             .order_by(ReviewCheckpoint.seq.desc()).limit(1))
    if last == head.seq:
        return None
    # Whole seconds: the stored time must give back exactly the signed one.
    at = (now or utcnow()).replace(microsecond=0)
    checkpoint = ReviewCheckpoint(tenant_id=tenant.id, seq=head.seq, hash=head.hash, at=at,
                                  signature=badges.sign(payload(tenant.slug, head.seq, head.hash, at)))
    db.session.add(checkpoint)
    db.session.flush()
    return checkpoint


def checkpoint_problem(tenant: Tenant) -> str | None:
    """The first stored checkpoint the chain no longer agrees with (or whose signature fails), else None."""
    stored = checkpoints_of(tenant)
    if not stored:
        return None
    hashes = dict(db.session.execute(select(ReviewLog.seq, ReviewLog.hash).where(ReviewLog.tenant_id == tenant.id)).all())
    key = badges.public_key()
    for checkpoint in reversed(stored):
        if not badges.signature_valid(payload(tenant.slug, checkpoint.seq, checkpoint.hash, checkpoint.at),
                                      checkpoint.signature, key):
            return f"checkpoint at entry #{checkpoint.seq}: the signature does not match (the checkpoint was edited)"
        if hashes.get(checkpoint.seq) != checkpoint.hash:
            return (f"checkpoint at entry #{checkpoint.seq}: the chain no longer has the signed hash there "
                    "(the chain was rewritten)")
    return None
