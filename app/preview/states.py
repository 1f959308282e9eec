"""The built-in page states: the form, every result, the invalid link, the error pages.

Each is reached the way a person reaches it: a GET of a signed link, a POST of the form, a request the app
refuses. The three error pages no request of a preview can provoke honestly (429, 500, 503: a flood, a
bug, a journal that is down) come from the app's own error handlers, raised in a preview-only route that
exists on the preview's app alone (``PREVIEW_ERRORS``).
"""

from __future__ import annotations

from werkzeug.test import TestResponse

from .registry import page_state
from .session import PREVIEW_ERRORS, PreviewPage

FORM = "Unsubscribe form"
RESULTS = "Result pages"
LINKS = "Links that do not work"
ERRORS = "Error pages"
OTHER = "Other pages"


@page_state("form", "The form (this list or all email)", group=FORM)
def _form(page: PreviewPage) -> TestResponse:
    return page.get(page.happy_link(fresh=False))


@page_state("form-all-only", "The form of a link without a job: only 'all marketing email'", group=FORM)
def _form_all_only(page: PreviewPage) -> TestResponse:
    return page.get(page.happy_link(with_job=False, fresh=False))


@page_state(
    "form-errors", "The form with an error (an answer that is not one of the choices)", group=FORM, status=400
)
def _form_errors(page: PreviewPage) -> TestResponse:
    return page.client.post(page.happy_link(fresh=False), data={"scope": "everything", "reason": "bored"})


@page_state("unsubscribed-list", "Unsubscribed from this list", group=RESULTS)
def _unsubscribed_list(page: PreviewPage) -> TestResponse:
    return page.client.post(page.happy_link(), data={"scope": "list", "reason": "too_many"})


@page_state("unsubscribed-all", "Unsubscribed from all marketing email", group=RESULTS)
def _unsubscribed_all(page: PreviewPage) -> TestResponse:
    return page.client.post(page.happy_link(), data={"scope": "all"})


@page_state("already", "Already unsubscribed", group=RESULTS)
def _already(page: PreviewPage) -> TestResponse:
    return page.client.post(page.link(**page.people.already), data={"scope": "list"})


@page_state("processing", "Received, being processed (Marketing Cloud slow or down)", group=RESULTS)
def _processing(page: PreviewPage) -> TestResponse:
    page.slow_marketing_cloud()
    return page.client.post(page.happy_link(), data={"scope": "list"})


@page_state("stalled", "Recorded, our team will complete it (delivery gave up)", group=RESULTS)
def _stalled(page: PreviewPage) -> TestResponse:
    page.failing_marketing_cloud()
    return page.client.post(page.happy_link(), data={"scope": "list"})


@page_state("not-found", "Subscription not found, with the offer to leave all email", group=RESULTS)
def _not_found(page: PreviewPage) -> TestResponse:
    return page.client.post(page.link(**page.people.not_on_job), data={"scope": "list"})


@page_state(
    "not-found-all",
    "An 'all email' unsubscribe Marketing Cloud refused: no offer left, a next step instead",
    group=RESULTS,
)
def _not_found_all(page: PreviewPage) -> TestResponse:
    return page.client.post(page.link(subscriber_key="nobody-on-file"), data={"scope": "all"})


@page_state("not-matched", "The link's details match no subscriber", group=RESULTS)
def _not_matched(page: PreviewPage) -> TestResponse:
    return page.client.post(page.link(**page.people.mismatched), data={"scope": "list"})


@page_state("invalid-link", "This link is not valid", group=LINKS, status=400)
def _invalid_link(page: PreviewPage) -> TestResponse:
    return page.get("/unsubscribe?t=this-link-was-cut-off")


@page_state("index", "The service's home page (no link)", group=OTHER)
def _index(page: PreviewPage) -> TestResponse:
    return page.get("/")


@page_state("error-400", "400 Bad request (a host name that is not ours)", group=ERRORS, status=400)
def _error_400(page: PreviewPage) -> TestResponse:
    return page.client.get(f"/?lang={page.lang}", base_url="http://not-our-host.example")


@page_state("error-404", "404 Page not found", group=ERRORS, status=404)
def _error_404(page: PreviewPage) -> TestResponse:
    return page.get("/no-such-page")


@page_state("error-405", "405 Method not allowed", group=ERRORS, status=405)
def _error_405(page: PreviewPage) -> TestResponse:
    return page.client.put(f"/unsubscribe?lang={page.lang}")


@page_state("error-413", "413 Request too large", group=ERRORS, status=413)
def _error_413(page: PreviewPage) -> TestResponse:
    too_much = {"other_text": "x" * (int(page.client.application.config["MAX_BODY_BYTES"]) + 1)}
    return page.client.post(page.happy_link(fresh=False), data=too_much)


@page_state("error-429", "429 Too many requests", group=ERRORS, status=429)
def _error_429(page: PreviewPage) -> TestResponse:
    return page.get(f"{PREVIEW_ERRORS}429")


@page_state("error-500", "500 Something went wrong", group=ERRORS, status=500)
def _error_500(page: PreviewPage) -> TestResponse:
    return page.get(f"{PREVIEW_ERRORS}500")


@page_state("error-503", "503 Please try again (the journal cannot be written)", group=ERRORS, status=503)
def _error_503(page: PreviewPage) -> TestResponse:
    return page.get(f"{PREVIEW_ERRORS}503")


# The states of other pages, after the built-in ones (the index lists them in this order).
from app.preferences import preview_states as _manage_page_states  # noqa: E402, F401
