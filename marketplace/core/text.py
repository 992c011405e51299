"""Text that users send: rich text is sanitised before it is stored or shown."""

import nh3

#: Tags a merchant may use in descriptions; everything else is stripped with its attributes.
ALLOWED_TAGS = {"p", "br", "strong", "b", "em", "i", "u", "ul", "ol", "li", "h3", "h4", "blockquote", "a", "span"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}


def sanitise_html(html: str) -> str:
    """Keep harmless formatting, drop scripts, styles, event handlers and unsafe links."""
    return nh3.clean(html or "", tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto", "tel"}, link_rel="noopener nofollow").strip()
