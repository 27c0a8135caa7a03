"""CSRF is enforced on every change: a POST without the token is refused on every URL of the
project, whoever sends it, and changes nothing.

The URLs are read from the resolver (not from a list kept by hand), so a view added later is
checked too, and one marked csrf_exempt fails here. The arguments are a real case's, so the
requests reach views that would act if the middleware let them through; the control test
shows that the same POST with the token does get through.
"""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from cases.models import AuditEntry, Case, CaseState

pytestmark = pytest.mark.django_db

# A value for each URL argument, by its name: enough for the path to resolve.
ARGUMENTS = {"kind": "incident_log", "pk": "1", "id": "1", "sequence": "1"}


def _patterns(patterns, prefix="", namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _patterns(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            yield f"{namespace}{pattern.name or pattern.lookup_str}", prefix + str(pattern.pattern)


def _path(route: str, reference: str) -> str | None:
    """The route with every argument filled in; None for admin's regex routes we cannot fill."""
    if route.startswith("^") or "(?P" in route:
        return None

    def value(match):
        name = match.group(2)
        if name in ("reference", "into"):
            return reference
        return ARGUMENTS.get(name, "1")

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", value, route)


def _every_url(reference):
    seen = set()
    for name, route in _patterns(get_resolver().url_patterns):
        path = _path(route, reference)
        if path is not None and path not in seen:
            seen.add(path)
            yield name, path


def test_no_post_gets_through_without_the_token_and_nothing_changes(world):
    case = world.in_triage()
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.visitator)
    entries_before = AuditEntry.objects.count()
    version_before = case.version

    answers = {
        name: client.post(path, {"reason": "x", "comment": "x"}).status_code
        for name, path in _every_url(case.reference)
    }

    assert len(answers) > 60, "the walk must reach the project's URLs"
    let_through = {name: code for name, code in answers.items() if code != 403}
    assert not let_through, f"POST without a CSRF token was not refused: {let_through}"
    case.refresh_from_db()
    assert (case.state, case.version) == (CaseState.IN_TRIAGE, version_before)
    assert AuditEntry.objects.count() == entries_before


def test_anonymous_posts_without_the_token_are_refused_too(world):
    case = world.refer()
    client = Client(enforce_csrf_checks=True)
    refused = [
        client.post(path, {}).status_code == 403 for _name, path in _every_url(case.reference)
    ]
    assert all(refused)


def test_the_same_post_with_the_token_gets_through(world):
    """The control: with the token the visitator's close of a case is carried out, so the
    403s above are the CSRF check and not a broken request."""
    case = world.active()
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.visitator)
    url = reverse("cases:close", args=[case.reference])
    client.get(url)  # the form sets the CSRF cookie
    token = client.cookies["csrftoken"].value

    response = client.post(
        url, {"reason": "resolved", "version": case.version}, HTTP_X_CSRFTOKEN=token
    )

    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).state == CaseState.CLOSED


def test_a_refused_form_says_in_danish_what_happened_and_what_to_do(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.first_contact)

    response = client.post(reverse("cases:referral_create"), {"full_name": "Mette Sørensen"})

    html = response.content.decode()
    assert response.status_code == 403
    assert "Formularen kunne ikke sendes" in html and "Intet er gemt" in html
    assert "Mette" not in html  # what was typed is not echoed back
    assert "CSRF" not in html  # no technical jargon for the caseworker
