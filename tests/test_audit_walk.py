"""The audit walk: every case URL of both permission matrices, as every role and as an
anonymous visitor, checked against the audit trail instead of the status code.

The rule (DESIGN.md section 5, README "What is logged"): every read of case data is written to
the trail, with who, which case and the route that gave access. So, request by request:

- a request the matrix answers 200 that reads a case (every GET of a case URL, and the POST
  that reveals the CPR number) wrote exactly one read entry (view or download) for that case
  and that user, with a purpose (the access route), not flagged, naming the path asked for;
- a disqualified (inhabil) user's 404 wrote a flagged entry for that case and no read;
- every other answer (403, 404, 405, a POST that changes something, anonymous 302) wrote no
  read entry for the user, and an anonymous request wrote nothing at all.

The tables, the case builders and the expected codes come from test_permission_matrix.py and
test_permission_matrix_tools.py, so a new URL or role there is walked here too. One test per
URL and case column walks all roles on one world (the disqualified user last, because
disqualifying changes the world; a POST gets a fresh case per role): 1,476 requests in 133
tests, about 27 s on SQLite, where the two matrices' 1,732 cells take about 75 s of CPU.

Pages that answer 200 without the entry the rule asks for are listed in GAPS with what they
show; their tests end as xfail after every other check has passed, and fail once the gap is
closed (so the entry is taken out of GAPS) - the same contract as BUGS in the matrix.
"""

import pytest
from django.test import Client

from cases.models import AuditAction, AuditEntry

from . import test_permission_matrix as case_matrix
from . import test_permission_matrix_tools as tool_matrix

pytestmark = pytest.mark.django_db

READ_ACTIONS = {AuditAction.VIEW, AuditAction.DOWNLOAD}
# POSTs that read rather than change (answers 200 with case data); other POSTs are changes.
READING_POSTS = {"cases:reveal_cpr POST"}

# URL -> what the page shows and what the trail lacks. Found by this walk on 2026-11-27.
GAPS = {
    # Forms of the case flow: they show the case reference (some a little more), no entry.
    "cases:triage": "visitation form: reference and the checklist's yes-count; no read entry",
    "cases:decline_incoming": "decline form: the reference only; no read entry",
    "cases:close": "close form: the reference only; no read entry",
    "cases:reopen": "reopen form: the reference only; no read entry",
    "cases:join": "join confirmation: both references; no read entry",
    "cases:consent": "consent form: the reference only; no read entry",
    "cases:withdraw_consent": "withdraw confirmation: partner and scope of a consent; no entry",
    "cases:disqualify": "disqualify form: the reference and the list of users; no read entry",
    "cases:respond": "answer-a-referral form: the referral's kind and date; no read entry",
    # Stalkingpakke pages.
    "stalkingpakke:timeline_chart": "SVG of the incidents (dates, kinds of behaviour); no entry",
    "stalkingpakke:attachment": "download is audited (download) but without a purpose/route",
    "stalkingpakke:download_document": "PDF download audited (download) without a purpose",
    "stalkingpakke:document_status": "status of a PDF (kind, time, size); no read entry",
    "stalkingpakke:import_csv": "CSV import form: the reference only; no read entry",
    "stalkingpakke:correct_entry": "correction form pre-filled with the whole log entry; no entry",
    "stalkingpakke:add_attachment": "attachment form: reference and entry number; no entry",
}


def _last_pk():
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _check(*, url, key, role, user, case, expected, status, new, reads):
    """Returns (problems, gaps): rule breaks, and 200 reads missing their proper entry."""
    problems, gaps = [], []
    where = f"{key} as {role} ({url})"
    if status != expected:
        problems.append(f"{where}: answered {status}, the matrix says {expected}")
        return problems, gaps
    mine = [e for e in new if user is not None and e.user_id == user.pk]
    my_reads = [e for e in mine if e.action in READ_ACTIONS]
    if user is None:
        if new:
            problems.append(f"{where}: an anonymous request wrote {len(new)} audit entries")
    elif expected == 200 and reads:
        good = [
            e
            for e in my_reads
            if e.case_id == case.pk and e.purpose and not e.flagged and e.path == url
        ]
        if len(my_reads) != 1 or len(good) != 1:
            seen = [(e.action, e.what, e.purpose or "<no purpose>", e.flagged) for e in mine]
            gaps.append(f"{where}: expected one read entry with a purpose, found {seen}")
    elif role == "disqualified":
        # 404: the case was looked up and refused. (405 and 302 answer before any lookup.)
        flagged = [e for e in mine if e.case_id == case.pk and e.flagged]
        if expected == 404 and not flagged:
            problems.append(f"{where}: a disqualified user's attempt was not flagged")
        if any(not e.flagged for e in my_reads):
            problems.append(f"{where}: a disqualified user's attempt was written as a read")
    elif my_reads:
        problems.append(f"{where}: answered {status} but wrote a read entry")
    return problems, gaps


def _conclude(name, problems, gaps, *, any_read):
    assert not problems, "\n".join(problems)
    if name in GAPS and any_read:
        assert gaps, f"{name} is audited now: take it out of GAPS"
        pytest.xfail(f"{GAPS[name]} ({len(gaps)} requests)")
    assert not gaps, "\n".join(gaps)


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
    reads = method != "POST" or key in READING_POSTS
    case = case_matrix.build_case(world, column)
    problems, gaps = [], []
    any_read = False
    # ROLES ends with "disqualified" and "anonymous": disqualifying the deputy comes last.
    for role in case_matrix.ROLES:
        if method == "POST":
            # A POST may change the case (start triage): each role gets a case of its own.
            case = case_matrix.build_case(world, column)
        expected = int(rows[role].split()[index].rstrip("*"))
        any_read = any_read or (expected == 200 and reads)
        user = case_matrix.user_for(world, role, case)
        url = case_matrix.case_url(world, name, case, user)
        status, new = _request(user, url, method, case_matrix.POST_DATA.get(key, {}))
        found = _check(
            url=url,
            key=key,
            role=role,
            user=user,
            case=case,
            expected=expected,
            status=status,
            new=new,
            reads=reads,
        )
        problems += found[0]
        gaps += found[1]
    _conclude(name, problems, gaps, any_read=any_read)


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
    problems, gaps = [], []
    any_read = False
    for role in tool_matrix.ROLES:
        expected = int(tool_matrix.MATRIX[name][role].split()[index])
        any_read = any_read or expected == 200
        user = tool_matrix._user(world, role)
        status, new = _request(user, url, "GET", {})
        found = _check(
            url=url,
            key=f"stalkingpakke:{name}",
            role=role,
            user=user,
            case=case,
            expected=expected,
            status=status,
            new=new,
            reads=True,
        )
        problems += found[0]
        gaps += found[1]
    _conclude(f"stalkingpakke:{name}", problems, gaps, any_read=any_read)


def test_the_walk_covers_every_case_url_of_both_matrices():
    """Nothing case-scoped is left out of the walk, and GAPS names only walked URLs."""
    walked = {key.split()[0] for key in case_matrix.CASE_MATRIX} | {
        f"stalkingpakke:{name}" for name in CASE_TOOLS
    }
    assert set(GAPS) <= walked
    assert set(tool_matrix.MATRIX) - set(CASE_TOOLS) == {"index", "tool"}
