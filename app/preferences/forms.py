"""The manage page's forms. No CSRF token: the signed link in the URL is the capability (docs/pages.md).

Three POSTs reach the manage page's URL, told apart by their fields:

- the lists form: one checkbox ``lists`` per list (value: the ListID; an unticked box is not sent) and
  the hidden, signed ``shown`` state the page showed (``shown.py``);
- the separate "unsubscribe from all email" form: ``all=1``;
- a result page's "subscribe to this list again" button: ``resubscribe=<ListID>``.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext
from wtforms import Form, HiddenField, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Regexp

from .values import OfferedList

#: A ListID as Marketing Cloud writes it: a positive number (at most 18 digits, a bigint).
LIST_ID_PATTERN = r"^[1-9][0-9]{0,17}\Z"  # \Z, not $ (which lets a trailing newline through)


class ManageForm(Form):
    """The person's lists as checkboxes, and the state they were shown in."""

    lists = SelectMultipleField(lazy_gettext("Your lists"), validate_choice=False)
    shown = HiddenField(validators=[InputRequired()])

    @classmethod
    def for_lists(cls, formdata: object, offered: Iterable[OfferedList]) -> ManageForm:
        """The form for ``offered``: on a GET its boxes show Marketing Cloud's state, on a POST the
        boxes the person sent back."""
        form = cls(formdata)
        form.lists.label.text = str(form.lists.label.text)
        form.lists.choices = [(item.list_id, item.name) for item in offered]
        if formdata is None:
            form.lists.data = [item.list_id for item in offered if item.subscribed]
        return form

    def is_ticked(self, list_id: str) -> bool:
        """Whether the box of ``list_id`` is ticked (what the template writes as ``checked``)."""
        return list_id in (self.lists.data or ())

    @property
    def ticked(self) -> frozenset[str]:
        """The ListIDs whose box came back ticked; anything else sent under ``lists`` is ignored later."""
        return frozenset(str(value) for value in self.lists.data or ())


class ResubscribeForm(Form):
    """The "subscribe to this list again" button: which list (the journal checks nothing else)."""

    resubscribe = StringField(validators=[InputRequired(), Regexp(LIST_ID_PATTERN)])
