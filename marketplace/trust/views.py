"""The trust domain's pages, registered together: merchant approval and electronic badges, reviews, complaints,
and the credit score."""

from __future__ import annotations

from marketplace.trust import badge_views, complaint_views, credit_views, onboarding_views, review_views


def register(app) -> None:
    for pages in (badge_views, review_views, complaint_views, credit_views, onboarding_views):
        pages.register(app)
    from marketplace.trust import licence_views  # publishing gate: the shop's 亮照 page and console notes

    licence_views.register(app)
    from marketplace.trust import premises  # the network business premises certificate, from the console

    premises.register(app)
    from marketplace.trust import ip_notice_views  # intellectual-property notices and counter-notices

    ip_notice_views.register(app)
    from marketplace.trust import enforcement_views  # takedowns, public sanctions and closing notices

    enforcement_views.register(app)
    from marketplace.trust import public_record_views  # public regulatory records, as the credit score takes them in

    public_record_views.register(app)
