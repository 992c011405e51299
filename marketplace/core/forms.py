"""Form helpers shared by every domain's views."""

from flask_wtf import FlaskForm


def add_form_error(form: FlaskForm, message: str, field: str | None = None) -> None:
    """Show a service's refusal next to the field it concerns, or above the form when it names none."""
    target = getattr(form, field, None) if field else None
    if target is not None:
        target.errors = [*target.errors, message]
    else:
        form.form_errors.append(message)
