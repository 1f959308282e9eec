"""The unsubscribe form. No CSRF token: the signed link in the URL is the capability (see docs/pages.md)."""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale, lazy_gettext
from wtforms import Form, RadioField, TextAreaField, ValidationError
from wtforms.validators import Length

from app.journal.models import Scope

from .i18n import default_locale
from .reasons import MAX_OTHER_CHARS, OTHER, reason_catalog


def _optional_text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class ChoiceRadioField(RadioField):
    """A radio group whose wrong answers get our own translated message; unanswered is allowed if optional."""

    def __init__(self, *args: Any, required: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("coerce", _optional_text)
        super().__init__(*args, **kwargs)
        self.required = required

    def pre_validate(self, form: Form) -> None:
        if self.data is None and not self.required:
            return
        if self.data not in {value for value, _label in self.choices}:
            raise ValidationError(lazy_gettext("Please choose one of the options."))


SCOPE_LIST_LABEL = lazy_gettext("Only this list")
SCOPE_ALL_LABEL = lazy_gettext("All marketing email")


class UnsubscribeForm(Form):
    """Scope (this list / all marketing email), an optional reason, and free text for "another reason"."""

    scope = ChoiceRadioField(lazy_gettext("What do you want to stop receiving?"))
    reason = ChoiceRadioField(lazy_gettext("Why are you unsubscribing? (optional)"), required=False)
    other_text = TextAreaField(
        lazy_gettext("Tell us more (optional, up to %(max)s characters)", max=MAX_OTHER_CHARS),
        filters=[_strip],
        validators=[
            Length(
                max=MAX_OTHER_CHARS,
                message=lazy_gettext("Please keep this to %(max)s characters or fewer.", max=MAX_OTHER_CHARS),
            )
        ],
    )
    #: The free text's limit, for the template's ``maxlength``.
    max_other_chars = MAX_OTHER_CHARS

    @classmethod
    def for_link(cls, formdata: Any, has_job_context: bool, reasons: tuple[str, ...]) -> UnsubscribeForm:
        """A form whose scopes fit the link (no job context ⇒ only "all") and whose reasons fit config."""
        form = cls(formdata)
        for field in (form.scope, form.reason, form.other_text):
            field.label.text = str(field.label.text)
        if has_job_context:
            form.scope.choices = [
                (Scope.LIST.value, str(SCOPE_LIST_LABEL)),
                (Scope.ALL.value, str(SCOPE_ALL_LABEL)),
            ]
            form.scope.default = Scope.LIST.value
        else:
            form.scope.choices = [(Scope.ALL.value, str(SCOPE_ALL_LABEL))]
            form.scope.default = Scope.ALL.value
        catalog, locale = reason_catalog(), str(get_locale() or default_locale())
        form.reason.choices = [(code, catalog.label(code, locale)) for code in reasons]
        if formdata is None:
            form.scope.data = form.scope.default  # a POST must say its scope: nothing is assumed
        return form

    @property
    def offers_other_text(self) -> bool:
        """True when "another reason" is one of the choices (the free-text box goes with it)."""
        return any(value == OTHER for value, _label in self.reason.choices)

    @property
    def chosen_scope(self) -> Scope:
        return Scope(self.scope.data)

    @property
    def reason_code(self) -> str | None:
        """The chosen reason; free text without a chosen reason counts as "another reason"."""
        if self.reason.data:
            return self.reason.data
        if self.other_text.data and self.offers_other_text:
            return OTHER
        return None

    @property
    def reason_text(self) -> str | None:
        return self.other_text.data or None if self.reason_code == OTHER else None

    @property
    def reason_label(self) -> str | None:
        """The English report label of the chosen reason (the built-in one or the content file's)."""
        code = self.reason_code
        return reason_catalog().report_label(code) if code else None
