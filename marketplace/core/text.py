"""Text that users send: rich text is sanitised before it is stored or shown."""

import re

import nh3
from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

#: Tags a merchant may use in descriptions; everything else is stripped with its attributes.
ALLOWED_TAGS = {"p", "br", "strong", "b", "em", "i", "u", "ul", "ol", "li", "h3", "h4", "blockquote", "a", "span"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}


def sanitise_html(html: str) -> str:
    """Keep harmless formatting, drop scripts, styles, event handlers and unsafe links."""
    return nh3.clean((html or "").replace("\x00", ""), tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto", "tel"}, link_rel="noopener nofollow").strip()


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def plain_text(_form, field) -> None:
    """Form validator for names and other plain text: no control characters (NUL and the like).

    Nobody types them, they break pages and exports, and PostgreSQL cannot store NUL at all.
    """
    if field.data and _CONTROL_CHARACTERS.search(field.data):
        raise ValidationError(_l("含有无法识别的字符，请修改后重试。"))


def html_to_text(html: str) -> str:
    """The words of sanitised HTML, tags removed and entities decoded (for search and summaries)."""
    import html as html_module

    spaced = (html or "").replace("<", " <")  # "a<br>b" reads as two words, not "ab"
    return " ".join(html_module.unescape(nh3.clean(spaced, tags=set())).split())


# -- showing people without giving them away ------------------------------------------------------------------------

def masked_name(name: str | None) -> str:
    """张* for 张三丰: enough for the right person to recognise, not enough to know who it is."""
    name = (name or "").strip()
    return f"{name[:1]}*" if name else ""


def masked_contact(value: str | None) -> str:
    """138****0000 or z***@example.com: enough to recognise a mobile number or an address, not to use it."""
    value = (value or "").strip()
    if not value:
        return ""
    if "@" in value:
        name, _at, domain = value.partition("@")
        return f"{name[:1]}***@{domain}"
    return f"{value[:3]}****{value[-4:]}" if len(value) >= 7 else "****"
