"""The trust domain's pages, registered together: merchant approval and electronic badges, reviews, complaints,
and the credit score."""

from __future__ import annotations

from marketplace.trust import badge_views, complaint_views, credit_views, onboarding_views, review_views


def register(app) -> None:
    for pages in (badge_views, review_views, complaint_views, credit_views, onboarding_views):
        pages.register(app)
    from marketplace.trust import licence_views  # publishing gate: the shop's 亮照 page and console notes

    licence_views.register(app)
