"""The audit walk: every case URL of both permission matrices, as every role and as an
anonymous visitor, checked against the audit trail instead of the status code.

The rule (DESIGN.md section 5, README "What is logged"): every read of case data is written to
the trail, with who, which case and the route that gave access. So, request by request:

- a request the matrix answers 200 shows data of the case (every GET of a case URL; a POST
  that answers 200 reveals the CPR number or sends a form back with its errors, see
  cases/audit.py) and wrote exactly one read entry (view or download) for that case and that
  user, with a purpose (the access route), not flagged, naming the path asked for;
- a disqualified (inhabil) user's 404 wrote a flagged entry for that case and no read;
- every other answer (403, 404, 405, a POST that changes something and redirects, anonymous
  302) wrote no read entry for the user, and an anonymous request wrote nothing at all.

The tables, the case builders and the expected codes come from test_permission_matrix.py and
test_permission_matrix_tools.py, so a new URL or role there is walked here too. One test per
URL and case column walks all roles on one world (the disqualified user last, because
disqualifying changes the world; a POST gets a fresh case per role): 1,476 requests in 133
tests, about 27 s on SQLite, where the two matrices' 1,732 cells take about 75 s of CPU.

The walk of 2026-11-27 found 16 URLs answering 200 without that entry (the forms of the case
flow, five stalkingpakke pages, and the two downloads without a purpose); all are closed.
Below the walk: a form sent back with its errors, the list pages, and the data protection
officer's review, which must not take a list page for an outsider's read.
"""

import pytest
from django.test import Client
from django.urls import reverse

from cases import audit_selectors
from cases.models import AuditAction, AuditEntry, CaseState

from . import test_permission_matrix as case_matrix
from . import test_permission_matrix_tools as tool_matrix

pytestmark = pytest.mark.django_db

READ_ACTIONS = {AuditAction.VIEW, AuditAction.DOWNLOAD}


def _last_pk():
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _check(*, url, key, role, user, case, expected, status, new):
    """The rule broken by one request, if any (a list of what is wrong)."""
    problems = []
    where = f"{key} as {role} ({url})"
    if status != expected:
        problems.append(f"{where}: answered {status}, the matrix says {expected}")
        return problems
    mine = [e for e in new if user is not None and e.user_id == user.pk]
    my_reads = [e for e in mine if e.action in READ_ACTIONS]
    if user is None:
        if new:
            problems.append(f"{where}: an anonymous request wrote {len(new)} audit entries")
    elif expected == 200:
        good = [
            e
            for e in my_reads
            if e.case_id == case.pk and e.purpose and not e.flagged and e.path == url
        ]
        # The join confirmation shows the other case side by side and audits that read too.
        others = [e for e in my_reads if e.case_id != case.pk]
        allowed_others = 1 if key == "cases:join" else 0
        if len(my_reads) - len(others) != 1 or len(good) != 1 or len(others) != allowed_others:
            seen = [(e.action, e.what, e.purpose or "<no purpose>", e.flagged) for e in mine]
            problems.append(f"{where}: expected one read entry with a purpose, found {seen}")
    elif role == "disqualified":
        # 404: the case was looked up and refused. (405 and 302 answer before any lookup.)
        flagged = [e for e in mine if e.case_id == case.pk and e.flagged]
        if expected == 404 and not flagged:
            problems.append(f"{where}: a disqualified user's attempt was not flagged")
        if any(not e.flagged for e in my_reads):
            problems.append(f"{where}: a disqualified user's attempt was written as a read")
    elif my_reads:
        problems.append(f"{where}: answered {status} but wrote a read entry")
    return problems


def _request(user, url, method, data):
    client = Client()
    if user is not None:
        client.force_login(user)
    before = _last_pk()
    response = client.post(url, data) if method == "POST" else client.get(url)
    return response.status_code, list(AuditEntry.objects.filter(pk__gt=before).order_by("pk"))


# --- The case flow's URLs (test_permission_matrix.CASE_MATRIX) ---------------------------------


def _case_groups():
    for key in case_matrix.CASE_MATRIX:
        for index, column in enumerate(case_matrix.CASES):
            yield pytest.param(key, column, index, id=f"{key.replace(' ', '_')}-{column}")


@pytest.mark.parametrize(("key", "column", "index"), list(_case_groups()))
def test_every_read_of_a_case_page_is_audited(world, key, column, index):
    name, _, method = key.partition(" ")
    rows = case_matrix.CASE_MATRIX[key]
    case = case_matrix.build_case(world, column)
    problems = []
    # ROLES ends with "disqualified" and "anonymous": disqualifying the deputy comes last.
    for role in case_matrix.ROLES:
        if method == "POST":
            # A POST may change the case (start triage): each role gets a case of its own.
            case = case_matrix.build_case(world, column)
        expected = int(rows[role].split()[index].rstrip("*"))
        user = case_matrix.user_for(world, role, case)
        url = case_matrix.case_url(world, name, case, user)
        status, new = _request(user, url, method, case_matrix.post_data(key, case))
        problems += _check(
            url=url,
            key=key,
            role=role,
            user=user,
            case=case,
            expected=expected,
            status=status,
            new=new,
        )
    assert not problems, "\n".join(problems)


# --- The stalkingpakke URLs on a case (test_permission_matrix_tools.MATRIX) --------------------

CASE_TOOLS = [name for name in tool_matrix.MATRIX if name not in ("index", "tool")]


def _tool_groups():
    for name in CASE_TOOLS:
        for index, column in enumerate(tool_matrix.COLUMNS):
            yield pytest.param(name, column, index, id=f"{name}-{column}")


@pytest.mark.parametrize(("name", "column", "index"), list(_tool_groups()))
def test_every_read_of_a_tool_on_a_case_is_audited(world, settings, tmp_path, name, column, index):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "x.pdf").write_bytes(b"%PDF-1.4 test")
    case, entry, attachment, document = tool_matrix._case(world, column, tmp_path)
    url = tool_matrix._url(name, case, entry, attachment, document)
    problems = []
    for role in tool_matrix.ROLES:
        expected = int(tool_matrix.MATRIX[name][role].split()[index])
        user = tool_matrix._user(world, role)
        status, new = _request(user, url, "GET", {})
        problems += _check(
            url=url,
            key=f"stalkingpakke:{name}",
            role=role,
            user=user,
            case=case,
            expected=expected,
            status=status,
            new=new,
        )
    assert not problems, "\n".join(problems)


def test_the_walk_covers_every_case_url_of_both_matrices():
    """Nothing case-scoped is left out of the walk."""
    assert set(tool_matrix.MATRIX) - set(CASE_TOOLS) == {"index", "tool"}


# --- Beyond the walk: forms sent back, changes, the lists and the review ----------------------


def _new_entries(before):
    return list(AuditEntry.objects.filter(pk__gt=before).order_by("pk"))


# url name, who sends it, what the form refuses, the read's "what", the route (purpose).
REFUSED_FORMS = [
    ("cases:close", "coordinator", {"reason": "not-a-reason"}, "case_form:close", "responsible"),
    ("cases:consent", "coordinator", {"partner": "police"}, "case_form:consent", "responsible"),
    ("cases:add_note", "coordinator", {"text": ""}, "case_form:note", "responsible"),
    ("cases:disqualify", "visitator", {"reason": "Kender"}, "case_form:disqualify", "visitator"),
    ("cases:reassign", "coordinator", {"reason": ""}, "case_form:reassign", "responsible"),
]


@pytest.mark.parametrize(("name", "role", "data", "what", "route"), REFUSED_FORMS)
def test_a_form_sent_back_with_its_errors_is_one_read_and_no_change(
    world, client, name, role, data, what, route
):
    case = world.active()
    user = getattr(world, role)
    client.force_login(user)
    before = _last_pk()
    response = client.post(reverse(name, args=[case.reference]), {"version": case.version, **data})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert [
        (e.user_id, e.action, e.what, e.case_id, e.purpose, e.flagged) for e in _new_entries(before)
    ] == [(user.pk, AuditAction.VIEW, what, case.pk, route, False)]


def test_a_form_that_changes_the_case_writes_the_change_and_no_read(world, client):
    case = world.active()
    client.force_login(world.coordinator)
    before = _last_pk()
    response = client.post(
        reverse("cases:close", args=[case.reference]),
        {"version": case.version, "reason": "resolved", "comment": ""},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.CLOSED
    new = _new_entries(before)
    assert new and {e.action for e in new} == {AuditAction.CHANGE}


# url name, who, "what" after "list:", the route of the rows.
LISTS = [
    ("cases:triage_dashboard", "visitator", "triage_dashboard", "visitator"),
    ("cases:my_cases", "coordinator", "my_cases", "responsible"),
    ("cases:partner_cases", "police_contact", "partner_cases", "grant:police"),
    ("cases:partner_cases", "dsc", "partner_cases", "grant:dsc"),
]


@pytest.mark.parametrize(("name", "role", "what", "route"), LISTS)
def test_each_page_of_a_case_list_is_one_read_without_a_case_or_the_search_words(
    world, client, name, role, what, route
):
    world.refer()
    world.active(police=True, dsc=True)
    user = getattr(world, role)
    client.force_login(user)
    before = _last_pk()
    response = client.get(reverse(name), {"q": "Sørensen"})
    assert response.status_code == 200
    new = _new_entries(before)
    assert [
        (e.user_id, e.action, e.what, e.case_id, e.case_reference, e.object_id, e.purpose)
        for e in new
    ] == [(user.pk, AuditAction.VIEW, f"list:{what}", None, "", "", route)]
    assert new[0].path == reverse(name) and not new[0].flagged
    assert "Sørensen" not in repr(vars(new[0]))


def test_the_review_does_not_take_a_list_page_for_an_outsiders_read(world, client):
    world.active(police=True)
    for name, role, *_ in LISTS[:3]:
        client.force_login(getattr(world, role))
        assert client.get(reverse(name)).status_code == 200
    assert AuditEntry.objects.filter(what__startswith="list:").count() == 3
    assert list(audit_selectors.outsider_reads()) == []
    assert list(audit_selectors.flagged_entries()) == []
    client.force_login(world.admin)
    response = client.get(reverse("audit:review"))
    assert response.status_code == 200
    assert list(response.context["outsiders"].object_list) == []
    assert list(response.context["flagged"].object_list) == []
