"""Status enums whose members carry a translatable label."""

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class LabelledEnum(StrEnum):
    """A string enum; subclasses map each value to a label in ``__labels__`` (a dict of lazy strings)."""

    @property
    def label(self) -> str:
        return str(type(self).__labels__[self.value])

    @classmethod
    def values(cls) -> list[str]:
        return [member.value for member in cls]


def labelled(labels: dict):
    """Class decorator attaching ``labels`` (value → lazy translatable text) to a ``LabelledEnum``."""

    def decorate(cls):
        missing = set(cls.values()) - set(labels)
        if missing:
            raise TypeError(f"{cls.__name__} has no label for {sorted(missing)}")
        type.__setattr__(cls, "__labels__", labels)
        return cls

    return decorate


__all__ = ["LabelledEnum", "labelled", "_l"]
