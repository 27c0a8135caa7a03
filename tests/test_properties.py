"""Property-based tests (hypothesis) for issue 5, point 6 ("bad input"): no input to the CSV
import or to the main forms gives a 500.

- ``csv_import.parse`` on arbitrary bytes and on hostile-but-structured CSV: it returns rows and
  a report or raises ``ValidationError``, nothing else; every returned row is valid.
- ``csv_import.import_csv``: one bad row and nothing is imported; only good rows and exactly
  those are imported.
- The main forms, POSTed through the test client as the role that may use them, with arbitrary
  dictionaries (known fields, junk keys, control characters, NUL, HTML, formula-like text, long
  text, lists for single-value fields): the answer is never a 500, a re-rendered page never
  carries a raw ``<script>`` from the input, and no NUL character ever reaches the database
  (PostgreSQL refuses NUL in text and jsonb: it would be a 500 there, not on SQLite).

The ``test_bug_*`` tests pin bugs hypothesis found (a lone CR, a cell over 128 KB, year 1, a
label with a comma, csv.Sniffer altering quotes, non-ASCII CPR digits, a row without
behaviours); all are fixed and the tests keep them fixed.
"""

import csv
import datetime
import io
import json
import re
from urllib.parse import urlencode

import pytest
from django import forms
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone, translation
from hypothesis import HealthCheck, event, example, given, note, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from hypothesis.extra.django import TestCase

from cases.cpr import normalise_cpr
from cases.forms import CONSENT_CHOICES, CloseForm
from cases.models import (
    Case,
    ChildrenNotification,
    ClosingReason,
    ConsentPartner,
    ConsentScope,
    PersonKind,
    Relation,
    Urgency,
    YesNoUnknown,
)
from stalkingpakke import csv_import
from stalkingpakke.content import load_defaults
from stalkingpakke.forms import ActionStatus, ToolForm
from stalkingpakke.models import Behaviour, IncidentEntry, ToolKind, ToolVersion

from .conftest import build_world

FORMS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PARSE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------

SCRIPT = "<script>alert('samvirke')</script>"
HOSTILE = [
    SCRIPT,
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '"><img src=x onerror=alert(1)>',
    "=cmd|' /C calc'!A0",
    "+SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "\x00",
    "før\x00efter",
    "'; DROP TABLE cases_case; --",
    "{{ request }}{% debug %}",
    "\u202eevil",  # right-to-left override
    "\ufeff",
    "Ærø æøå ÆØÅ",
    "𝔖𝔞𝔪𝔳𝔦𝔯𝔨𝔢 🙂",
    "\r\n",
    "\r",
    "\t",
    " ",
    '"',
    "'",
    ";",
    ",",
    "%00",
    "../../etc/passwd",
]
# Around the max_length of the forms' text fields (50, 200, 300, 500, 1000, 2000, 4000, 10000).
LIMITS = [n + d for n in (11, 50, 200, 300, 500, 1000, 2000, 4000, 10000) for d in (0, 1)]
# Year 1 is left out on purpose: 0001-01-01 before 00:50 is a known bug (OverflowError), pinned
# by test_bug_year_one_*; put it back (min_value=datetime.datetime.min) when fixed.
EARLIEST = datetime.datetime(1, 1, 2)
DATE_TEXT = [
    "9999-12-31",
    "9999-12-31T23:59",
    "31-12-9999 23:59",
    "2024-02-30",
    "2024-02-29T24:00",
    "2026-03-29T02:30",  # inside the spring-forward gap in Copenhagen
    "2026-10-25T02:30",  # ambiguous, autumn
    "1-1-1",
    "0000-00-00",
    "99999999999999999999",
    "-1",
    "1e10",
    "NaN",
    "2024-01-01\x00",
]

snippet = st.sampled_from(HOSTILE)
control_text = st.text(
    alphabet=st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp"]), min_size=1, max_size=6
)
any_text = st.text(max_size=40)  # all of Unicode but surrogates: controls, NUL, RTL, emoji...
hostile_text = st.one_of(
    any_text,
    snippet,
    st.lists(st.one_of(snippet, any_text, control_text), min_size=1, max_size=4).map("".join),
    st.sampled_from(LIMITS).map(lambda n: "ø" * n),
    st.integers(-(10**25), 10**25).map(str),
    st.sampled_from(DATE_TEXT),
    st.datetimes(min_value=EARLIEST).map(
        lambda d: d.strftime(
            "%Y-%m-%dT%H:%M"
            if d.microsecond % 3 == 0
            else "%Y-%m-%d"
            if d.second % 2
            else "%d-%m-%Y %H:%M"
        )
    ),
)
JUNK_KEYS = st.one_of(
    st.sampled_from(
        [
            "",
            "csrfmiddlewaretoken",
            "__proto__",
            "version[]",
            "pk",
            "id",
            "state",
            "created_by",
            "municipality_id",
            "is_superuser",
            "svar",
            "items-999-who",
        ]
    ),
    st.text(max_size=12),
)


def value_for(choices=()):
    """One posted value: hostile text, or a list of values (valid choices mixed with junk)."""
    scalar = st.one_of(st.sampled_from(choices), hostile_text) if choices else hostile_text
    return st.one_of(scalar, st.lists(scalar, max_size=4))


@st.composite
def post_data(draw, base: dict, choices: dict | None = None):
    """Start from a valid submission (or nothing), drop some keys, overwrite some, add junk."""
    choices = choices or {}
    data = dict(base) if draw(st.booleans()) else {}
    keys = sorted(set(base) | set(choices))
    for key in draw(st.sets(st.sampled_from(keys), max_size=2)):
        data.pop(key, None)
    names = draw(st.lists(st.one_of(st.sampled_from(keys), JUNK_KEYS), max_size=5, unique=True))
    for name in names:
        data[name] = draw(value_for(tuple(choices.get(name, ()))))
    return data


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------

ALLOWED = {200, 302, 400, 403, 404}
OUR_SCRIPT_TAG = re.compile(r'<script src="/static/[\w./-]+">')


def _values(data: dict):
    for key, value in data.items():
        yield key
        yield from value if isinstance(value, list) else [value]


def _text_with_nul_in_db() -> list[str]:
    """Every str or JSON value of the project's tables that holds a NUL character."""
    found = []
    for model in apps.get_models():
        if model._meta.app_label not in ("cases", "stalkingpakke", "cooperation"):
            continue
        fields = [
            f.attname
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField | models.JSONField)
        ]
        if not fields:
            continue
        for row in model.objects.values_list(*fields):
            for name, value in zip(fields, row, strict=True):
                text = value if isinstance(value, str) else json.dumps(value)
                if "\x00" in text or "\\u0000" in text:
                    found.append(f"{model._meta.label}.{name}")
    return found


def check_response(response, data: dict) -> None:
    if currently_in_test_context():
        event(f"HTTP {response.status_code}")  # see --hypothesis-show-statistics
    assert response.status_code in ALLOWED, response.status_code
    if response.status_code == 200:
        body = response.content.decode()
        tags = re.findall(r"<script\b[^>]*>", body, flags=re.IGNORECASE)
        assert all(OUR_SCRIPT_TAG.fullmatch(tag) for tag in tags), tags
        for value in _values(data):
            if "<script" in value.lower() or "onerror=" in value.lower():
                assert value.strip() not in body, f"unescaped input in the page: {value!r}"
    assert not _text_with_nul_in_db(), "a NUL character reached the database"


# --------------------------------------------------------------------------------------------
# CSV: parse
# --------------------------------------------------------------------------------------------

COLUMN_NAMES = list(csv_import.COLUMNS)


def _known_bug(error: Exception) -> bool:
    """No known bug is tolerated any more: every error but a ValidationError fails."""
    return False


def assert_valid_rows(rows: list[dict], report) -> None:
    assert isinstance(rows, list)
    assert report.imported == 0
    assert len(rows) + len(report.errors) == report.rows
    now = timezone.now()
    for row in rows:
        moment = row["occurred_at"]
        assert timezone.is_aware(moment)
        assert moment <= now
        assert set(row["behaviours"]) <= set(Behaviour.values)
        assert isinstance(row["reported_to_police"], bool)
        assert row["what_happened"].strip()
        for key in ("place", "what_happened", "witnesses", "evidence", "effect"):
            assert "\x00" not in row[key]
    for number, messages in report.errors:
        assert number >= 2 and messages and all(isinstance(m, str) for m in messages)


def parse_or_refuse(raw: bytes):
    try:
        rows, report = csv_import.parse(raw)
    except ValidationError as error:
        assert error.messages and all(error.messages)
        return None
    except csv.Error as error:
        if _known_bug(error):
            note(f"known bug: {error}")
            return None
        raise
    assert_valid_rows(rows, report)
    return rows, report


@PARSE
@given(raw=st.binary(max_size=4096))
@example(raw=b"")
@example(raw=b"\xff\xfe\x00\x00")
@example(raw=b"dato;hvad skete der\n\x81\x8d\x8f")
def test_parse_arbitrary_bytes(raw):
    parse_or_refuse(raw)


@PARSE
@given(
    header=st.sampled_from(
        [
            b"dato;hvad skete der\n",
            b"Dato,Hvad skete der,Adf\xe6rd\r\n",
            b"\xef\xbb\xbfdato\thvad skete der\n",
        ]
    ),
    body=st.binary(max_size=2048),
)
def test_parse_a_good_header_then_arbitrary_bytes(header, body):
    parse_or_refuse(header + body)


header_cell = st.one_of(
    st.sampled_from(COLUMN_NAMES),
    st.sampled_from(COLUMN_NAMES).map(lambda n: f"  {n.upper()} "),
    hostile_text,
)
hostile_cell = st.one_of(
    hostile_text,
    st.sampled_from(["01-02-2024", "2024-02-01", "31.12.2023", "12/06/2020", "23:59", "ja", "nej"]),
    st.sampled_from(["calls", "Opkald", "Trusler; Gaver og forsendelser", "at_home,UNKNOWN"]),
    st.integers(0, 12_000).map(lambda n: "x" * n),
)


@st.composite
def hostile_csv(draw) -> bytes:
    header = draw(st.lists(header_cell, min_size=1, max_size=12))
    rows = draw(st.lists(st.lists(hostile_cell, max_size=14), max_size=6))
    delimiter = draw(st.sampled_from([";", ",", "\t"]))
    if draw(st.booleans()):
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=delimiter).writerows([header, *rows])
        text = buffer.getvalue()
    else:  # hand-made: no quoting at all, any line ending
        ending = draw(st.sampled_from(["\n", "\r\n"]))
        text = ending.join(delimiter.join(cells) for cells in [header, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    return text.encode(encoding, errors="replace")


@PARSE
@given(raw=hostile_csv())
def test_parse_hostile_csv(raw):
    parse_or_refuse(raw)


# Labels with a comma ("Beskeder, sms, mails") cannot be written in the column: known bug,
# pinned by test_bug_behaviour_label_with_a_comma.
def _behaviour_names() -> list[tuple[str, str]]:
    names = [(value, value) for value in Behaviour.values]
    for language in ("da", "en"):
        with translation.override(language):
            names += [(str(label), value) for value, label in Behaviour.choices]
    return [(name, value) for name, value in names if "," not in name and ";" not in name]


BEHAVIOUR_NAMES = _behaviour_names()
DATE_FORMATS = ["%d-%m-%Y", "%d.%m.%Y", "%d/%m/%Y", "%Y-%m-%d"]
# Cells: no NUL (parse drops it), no bare CR (known bug), no edge whitespace (stripped).
# Any cell, as Excel or csv.writer would quote it:
cell_text = st.text(
    alphabet=st.characters(exclude_categories=["Cs", "Cc"]) | st.sampled_from("\n\t;,\"'"),
    max_size=30,
).map(str.strip)
# KNOWN BUG (test_bug_sniffer_*): quotes, apostrophes, delimiters and line breaks in a cell can
# make csv.Sniffer guess the dialect wrong. Plain cells leave them out; use cell_text when fixed.
plain_text = st.text(
    alphabet=st.characters(exclude_categories=["Cs", "Cc"], exclude_characters="\"';,\t"),
    max_size=30,
).map(str.strip)


@st.composite
def good_row(draw, cell_text=plain_text, separators=(", ", ";", ",")):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    day = draw(st.dates(min_value=datetime.date(1990, 1, 1), max_value=yesterday))
    time = draw(st.none() | st.times().map(lambda t: t.replace(second=0, microsecond=0)))
    behaviours = draw(st.lists(st.sampled_from(BEHAVIOUR_NAMES), max_size=3))
    reported = draw(st.sampled_from(sorted(csv_import.YES | csv_import.NO)))
    cells = {
        "dato": day.strftime(draw(st.sampled_from(DATE_FORMATS))),
        "tid": time.strftime("%H:%M") if time else "",
        "sted": draw(cell_text),
        "hvad skete der": draw(cell_text.filter(bool)),
        "adfærd": draw(st.sampled_from(separators)).join(
            draw(st.sampled_from([str, str.upper, str.lower]))(name) for name, _ in behaviours
        ),
        "vidner": draw(cell_text),
        "beviser": draw(cell_text),
        "anmeldt": draw(st.sampled_from([str, str.upper]))(reported),
        "journalnummer": draw(cell_text.map(lambda s: s[:50].strip())),
        "påvirkning": draw(cell_text),
    }
    expected = {
        "occurred_at": timezone.make_aware(
            datetime.datetime.combine(day, time or datetime.time.min)
        ),
        "place": cells["sted"],
        "what_happened": cells["hvad skete der"],
        "behaviours": [value for _, value in behaviours],
        "witnesses": cells["vidner"],
        "evidence": cells["beviser"],
        "reported_to_police": reported in csv_import.YES,
        "police_journal_number": cells["journalnummer"],
        "effect": cells["påvirkning"],
    }
    return cells, expected


def csv_bytes(rows: list[dict], *, delimiter=";", encoding="utf-8-sig", columns=None) -> bytes:
    columns = columns or COLUMN_NAMES
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, delimiter=delimiter)
    writer.writeheader()
    writer.writerows({key: row.get(key, "") for key in columns} for row in rows)
    return buffer.getvalue().encode(encoding)


rows_and_dialect = {
    "delimiter": st.sampled_from([";", ",", "\t"]),
    "encoding": st.sampled_from(["utf-8", "utf-8-sig"]),
    "columns": st.permutations(COLUMN_NAMES),
}


def assert_parse_back(rows, delimiter, encoding, columns):
    cells = [cells for cells, _ in rows]
    raw = csv_bytes(cells, delimiter=delimiter, encoding=encoding, columns=columns)
    parsed, report = csv_import.parse(raw)
    assert report.errors == []
    assert parsed == [expected for _, expected in rows]


def good_file(min_size=1, max_size=5, delimiters=";,\t", with_behaviours=False):
    """(rows, delimiter) of good rows; plain cells, and the behaviours in a cell never joined
    with the file's delimiter. KNOWN BUG (test_bug_sniffer_*): a quoted cell holding the
    delimiter can make csv.Sniffer give up and fall back to ';'. Drop the restriction when fixed.
    """

    def rows_for(delimiter):
        separators = [sep for sep in (", ", ";", ",") if delimiter not in sep]
        row = good_row(separators=separators)
        if with_behaviours:  # KNOWN BUG (test_bug_a_row_without_behaviours_*)
            row = row.filter(lambda r: r[1]["behaviours"])
        return st.lists(row, min_size=min_size, max_size=max_size)

    return st.sampled_from(delimiters).flatmap(lambda d: st.tuples(rows_for(d), st.just(d)))


@PARSE
@given(
    file=good_file(),
    encoding=rows_and_dialect["encoding"],
    columns=rows_and_dialect["columns"],
)
def test_good_rows_parse_back_exactly(file, encoding, columns):
    rows, delimiter = file
    assert_parse_back(rows, delimiter, encoding, columns)


# --------------------------------------------------------------------------------------------
# A small cooperation, built without pytest fixtures (hypothesis test cases cannot use them)
# --------------------------------------------------------------------------------------------


class WorldTestCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_defaults(ToolVersion, ToolKind.values)
        world = build_world()
        cls.municipality_pk = world.municipality.pk
        cls.first_contact = world.first_contact
        cls.visitator = world.visitator
        cls.coordinator = world.coordinator
        cls.triage_ref = world.in_triage(children_in_household=True).reference
        cls.active_ref = world.active(police=True).reference

    def case(self, reference) -> Case:
        return Case.objects.get(reference=reference)

    def post(self, user, url, data, *, urlencoded=False):
        self.client.force_login(user)
        if currently_in_test_context():
            note(f"POST {url} {data!r}")
        if urlencoded:
            return self.client.post(
                url,
                urlencode(data, doseq=True),
                content_type="application/x-www-form-urlencoded",
            )
        return self.client.post(url, data)


# --------------------------------------------------------------------------------------------
# CSV: import_csv
# --------------------------------------------------------------------------------------------

bad_row = st.one_of(
    st.just({"dato": "31-12-2999", "hvad skete der": "i fremtiden"}),
    st.just({"dato": "30-02-2024", "hvad skete der": "ingen dato"}),
    st.just({"dato": "01-02-2024", "hvad skete der": ""}),
    st.just({"dato": "01-02-2024", "hvad skete der": "x", "adfærd": "ukendt"}),
    st.just({"dato": "01-02-2024", "hvad skete der": "x", "anmeldt": "måske"}),
    st.just({"dato": "01-02-2024", "hvad skete der": "x", "tid": "25:00"}),
    st.just({"dato": "01-02-2024", "hvad skete der": "x" * 10_001}),
    st.just({"dato": "01-02-2024", "hvad skete der": "x", "journalnummer": "1" * 51}),
    # any date text; the row is bad whatever the date, through "anmeldt"
    st.builds(lambda t: {"dato": t, "hvad skete der": "x", "anmeldt": "måske"}, hostile_text),
)


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
class TestImportCsv(WorldTestCase):
    @FORMS
    @given(
        good=good_file(min_size=0, max_size=4, delimiters=";").map(lambda file: file[0]),
        bad=st.lists(bad_row, min_size=1, max_size=2),
        position=st.integers(0, 4),
    )
    def test_one_bad_row_and_nothing_is_imported(self, good, bad, position):
        cells = [c for c, _ in good]
        for row in bad:
            cells.insert(position % (len(cells) + 1), row)
        before = IncidentEntry.objects.count()
        try:
            report = csv_import.import_csv(
                actor=self.coordinator, case=self.case(self.active_ref), raw=csv_bytes(cells)
            )
        except ValidationError:
            pass
        else:
            assert report.errors and report.imported == 0 and not report.ok
        assert IncidentEntry.objects.count() == before

    @FORMS
    @given(file=good_file(delimiters=";,", with_behaviours=True))
    def test_only_good_rows_and_exactly_those_are_imported(self, file):
        good, delimiter = file
        before = IncidentEntry.objects.count()
        report = csv_import.import_csv(
            actor=self.coordinator,
            case=self.case(self.active_ref),
            raw=csv_bytes([c for c, _ in good], delimiter=delimiter),
        )
        assert report.ok and report.errors == [] and report.imported == len(good)
        assert IncidentEntry.objects.count() == before + len(good)
        assert not _text_with_nul_in_db()

    @FORMS
    @given(raw=st.one_of(st.binary(max_size=2048), hostile_csv()))
    def test_the_import_page_never_fails(self, raw):
        url = reverse("stalkingpakke:import_csv", args=[self.active_ref])
        upload = SimpleUploadedFile("log.csv", raw, content_type="text/csv")
        try:
            response = self.post(self.coordinator, url, {"file": upload})
        except csv.Error as error:
            if not _known_bug(error):
                raise
            note(f"known bug: {error}")
            return
        check_response(response, {})


# --------------------------------------------------------------------------------------------
# The main forms through the pages
# --------------------------------------------------------------------------------------------


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
class TestFormsNeverFail(WorldTestCase):
    # --- the forms, each with a valid submission to start from and its choices ---------------

    def referral(self):
        checklist = ToolForm(
            kind=ToolKind.CHECKLIST,
            content=ToolVersion.objects.current(ToolKind.CHECKLIST).content,
            prefix="tjek",
        )
        base = {
            "municipality": str(self.municipality_pk),
            "full_name": "Karen Holm",
            "person_kind": PersonKind.CITIZEN,
            "cpr": "",
            "safe_contact": "Kun sms efter kl. 16",
            "safe_contact_time": "",
            "urgency": str(Urgency.NORMAL),
            "reason": "Ekskæresten står uden for hendes arbejde hver dag.",
            "relation": Relation.EX_PARTNER,
            "stalker_works_in_municipality": YesNoUnknown.UNKNOWN,
            "consents": ["police:contact"],
        }
        base |= {f"tjek-{name}": "yes" for name in checklist.fields if name != "version"}
        choices = {
            "municipality": [str(self.municipality_pk), "0", "-1"],
            "person_kind": PersonKind.values,
            "urgency": [str(v) for v in Urgency.values],
            "relation": Relation.values,
            "stalker_works_in_municipality": YesNoUnknown.values,
            "children_in_household": ["on", "true", "false", "0"],
            "consents": [value for value, _ in CONSENT_CHOICES],
            "cpr": ["010190-1234", "0101901234", "3102901234", "٠١٠١٩٠١٢٣٤"],
        }
        choices |= {f"tjek-{name}": ["yes", "no", "unknown"] for name in checklist.fields}
        url = reverse("cases:referral_create")
        text = ["full_name", "safe_contact", "safe_contact_time", "reason", "cpr"]
        return self.first_contact, url, base, choices, text

    def triage(self):
        case = self.case(self.triage_ref)
        base = {
            "version": str(case.version),
            "is_stalking": "yes",
            "reasoning": "Gentagne, uønskede henvendelser",
            "children_notification": ChildrenNotification.NOT_NEEDED,
            "coordinator": str(self.coordinator.pk),
        }
        choices = {
            "version": [str(case.version), str(case.version + 1), "0"],
            "is_stalking": ["yes", "no", ""],
            "children_notification": ChildrenNotification.values,
            "coordinator": [str(self.coordinator.pk), str(self.visitator.pk), "0"],
            "to_police": ["on", "true", "false"],
            "to_dsc": ["on", "true", "false"],
            "advice_given": ["Råd om sikkerhed"],
        }
        url = reverse("cases:triage", args=[case.reference])
        return self.visitator, url, base, choices, ["reasoning", "advice_given"]

    def note_form(self):
        url = reverse("cases:add_note", args=[self.active_ref])
        return self.coordinator, url, {"text": "Borgeren ringede"}, {}, ["text"]

    def close(self):
        case = self.case(self.active_ref)
        reasons = [value for value, _ in CloseForm.base_fields["reason"].choices]
        base = {"version": str(case.version), "reason": ClosingReason.RESOLVED, "comment": ""}
        choices = {"version": [str(case.version), "0"], "reason": [*reasons, ClosingReason.MERGED]}
        url = reverse("cases:close", args=[case.reference])
        return self.coordinator, url, base, choices, ["comment"]

    def consent(self):
        base = {"partner": ConsentPartner.DSC, "scopes": [ConsentScope.CONTACT]}
        choices = {"partner": ConsentPartner.values, "scopes": ConsentScope.values}
        url = reverse("cases:consent", args=[self.active_ref])
        return self.coordinator, url, base, choices, []

    def incident(self):
        base = {
            "occurred_at": "2026-03-02T21:40",
            "place": "Hjemme",
            "what_happened": "Stod ved døren",
            "behaviours": ["at_home"],
            "witnesses": "",
            "evidence": "Foto",
            "reported_to_police": "on",
            "police_journal_number": "1200-123",
            "effect": "Bange",
        }
        choices = {"behaviours": Behaviour.values, "reported_to_police": ["on", "false", ""]}
        url = reverse("stalkingpakke:incident_log", args=[self.active_ref])
        text = [
            "place",
            "what_happened",
            "witnesses",
            "evidence",
            "police_journal_number",
            "effect",
        ]
        return self.coordinator, url, base, choices, text

    def action_plan(self):
        base = {
            "version": "",
            "goals": "Tryghed",
            "safety_measures": "Alarm",
            "next_review": "2026-12-01",
            "items-TOTAL_FORMS": "2",
            "items-INITIAL_FORMS": "0",
            "items-MIN_NUM_FORMS": "0",
            "items-MAX_NUM_FORMS": "1000",
            "items-0-who": "Koordinator",
            "items-0-what": "Ringer op",
            "items-0-deadline": "2026-12-15",
            "items-0-status": ActionStatus.NOT_STARTED,
            "items-1-status": ActionStatus.NOT_STARTED,
        }
        choices = {
            "version": ["", "0", "1", "2"],
            "items-TOTAL_FORMS": ["0", "1", "3", "1001", "-1", "99999999999999999999"],
            "items-INITIAL_FORMS": ["0", "1", "5", "-1"],
            "items-MAX_NUM_FORMS": ["0", "1"],
            "items-0-status": ActionStatus.values,
            "items-1-who": ["Politiet"],
            "items-1-what": ["Samtale"],
            "items-1-status": ActionStatus.values,
            "items-2-who": ["Politiet"],
        }
        url = reverse("stalkingpakke:action_plan", args=[self.active_ref])
        text = ["goals", "safety_measures", "items-0-who", "items-0-what"]
        return self.coordinator, url, base, choices, text

    def assessment(self):
        content = ToolVersion.objects.current(ToolKind.ASSESSMENT).content
        form = ToolForm(kind=ToolKind.ASSESSMENT, content=content)
        base, choices, text = {"version": ""}, {"version": ["", "0", "1"]}, []
        for name, field in form.fields.items():
            if name == "version":
                continue
            if isinstance(field, forms.ChoiceField):
                choices[name] = [value for value, _ in field.choices]
                first = choices[name][0]
                base[name] = [first] if isinstance(field, forms.MultipleChoiceField) else first
            elif isinstance(field, forms.DateField):
                base[name] = "2026-01-31"
            else:
                base[name] = "Noget"
                text.append(name)
        url = reverse("stalkingpakke:tool_form", args=[self.active_ref, ToolKind.ASSESSMENT])
        return self.coordinator, url, base, choices, text

    def network_meeting(self):
        today = timezone.localdate()  # a meeting is never before the case was received
        base = {
            "held_on": today.isoformat(),
            "participants": "Borgeren, koordinatoren, politiets kontaktperson",
            "purpose": "Fælles overblik over sikkerheden",
            "agreements": "Politiet kører forbi om aftenen",
            "next_meeting": "",
        }
        choices = {
            "held_on": [today.isoformat(), today.strftime("%d-%m-%Y"), "2999-12-31", "0001-01-01"],
            "next_meeting": ["", (today + datetime.timedelta(days=7)).isoformat(), "0001-01-01"],
        }
        url = reverse("cases:network_meeting_create", args=[self.active_ref])
        return self.coordinator, url, base, choices, ["participants", "purpose", "agreements"]

    def consultation(self):
        recipient = f"visitator:{self.municipality_pk}"
        base = {"recipient": recipient, "question": "Hvordan taler jeg med en bange borger?"}
        choices = {"recipient": [recipient, "dsc:0", "visitator:-1", "x", ""]}
        url = reverse("consultations:ask")
        return self.first_contact, url, base, choices, ["question"]

    # "close" last: test_the_valid_submissions_are_valid runs them in this order on one case.
    FORMS_BY_NAME = [
        "referral",
        "triage",
        "note_form",
        "consent",
        "incident",
        "action_plan",
        "assessment",
        "network_meeting",
        "consultation",
        "close",
    ]

    def fuzz(self, name, data_strategy):
        user, url, base, choices, _text = getattr(self, name)()
        data = data_strategy.draw(post_data(base, choices))
        urlencoded = data_strategy.draw(st.booleans())
        check_response(self.post(user, url, data, urlencoded=urlencoded), data)

    # --- one property per form ------------------------------------------------------------

    @FORMS
    @given(data=st.data())
    def test_referral_form(self, data):
        self.fuzz("referral", data)

    @FORMS
    @given(data=st.data())
    def test_triage_form(self, data):
        self.fuzz("triage", data)

    @FORMS
    @given(data=st.data())
    def test_note_form(self, data):
        self.fuzz("note_form", data)

    @FORMS
    @given(data=st.data())
    def test_close_form(self, data):
        self.fuzz("close", data)

    @FORMS
    @given(data=st.data())
    def test_network_meeting_form(self, data):
        self.fuzz("network_meeting", data)

    @FORMS
    @given(data=st.data())
    def test_consultation_form(self, data):
        self.fuzz("consultation", data)

    @FORMS
    @given(data=st.data())
    def test_consent_form(self, data):
        self.fuzz("consent", data)

    @FORMS
    @given(data=st.data())
    def test_incident_log_form(self, data):
        self.fuzz("incident", data)

    @FORMS
    @given(data=st.data())
    def test_action_plan_form(self, data):
        self.fuzz("action_plan", data)

    @FORMS
    @given(data=st.data())
    def test_assessment_form(self, data):
        self.fuzz("assessment", data)

    # --- NUL in any text field: refused (or stripped), never stored ---------------------------

    @FORMS
    @given(
        data=st.data(),
        before=st.text(max_size=10),
        after=st.text(max_size=10),
        urlencoded=st.booleans(),
    )
    def test_nul_in_a_text_field_is_refused(self, data, before, after, urlencoded):
        name = data.draw(st.sampled_from([n for n in self.FORMS_BY_NAME if n != "consent"]))
        user, url, base, _choices, text = getattr(self, name)()
        field = data.draw(st.sampled_from(text))
        posted = base | {field: f"{before}\x00{after}"}
        response = self.post(user, url, posted, urlencoded=urlencoded)
        assert response.status_code == 200, "a NUL character was accepted"
        assert "form-error" in response.content.decode()  # the summary, or at an action item
        check_response(response, posted)

    def test_script_in_a_refused_form_comes_back_as_text(self):
        """The escaping check above has teeth: a refused form re-renders the script as text."""
        url = reverse("stalkingpakke:incident_log", args=[self.active_ref])
        data = {"occurred_at": "", "what_happened": SCRIPT, "place": SCRIPT}
        response = self.post(self.coordinator, url, data)
        assert response.status_code == 200
        assert "&lt;script&gt;alert(&#x27;samvirke&#x27;)&lt;/script&gt;" in response.text
        check_response(response, data)

    def test_the_nul_check_has_teeth(self):
        """SQLite stores a NUL that PostgreSQL would refuse; _text_with_nul_in_db sees it."""
        from django.db import connection

        from cases import services

        if connection.vendor != "sqlite":
            pytest.skip("PostgreSQL refuses NUL itself; the scan matters on SQLite")
        assert not _text_with_nul_in_db()
        case = self.case(self.active_ref)
        services.add_note(actor=self.coordinator, case=case, text="før\x00efter")
        assert _text_with_nul_in_db() == ["cases.Note.text"]

    def test_the_valid_submissions_are_valid(self):
        """The starting points of the fuzzing really pass, so the fuzzing reaches the services."""
        for name in self.FORMS_BY_NAME:
            user, url, base, _choices, _text = getattr(self, name)()
            response = self.post(user, url, base)
            assert response.status_code == 302, (name, response.content.decode()[-3000:])


# --------------------------------------------------------------------------------------------
# Known bugs, pinned (xfail strict: they XPASS, and fail the run, once fixed)
# --------------------------------------------------------------------------------------------
def test_bug_bare_carriage_return_escapes_parse():
    """stalkingpakke/csv_import.py parse(): io.StringIO(text) without newline="" hands the csv
    reader a lone CR (old Mac line endings, a CR typed into a cell) inside an unquoted field; it
    raises csv.Error, which nobody catches, so the import page answers 500.
    Minimal input found by hypothesis: b"\r\x01" (any CR followed by a character in an
    unquoted field, header included). Fix: io.StringIO(text, newline=""), and turn any
    csv.Error into a ValidationError (see the next pin)."""
    rows, report = csv_import.parse(b"dato;hvad skete der\r01-02-2024;Ringede\r")
    assert report.errors == [] and len(rows) == 1


def test_bug_overlong_cell_escapes_parse():
    """stalkingpakke/csv_import.py parse(): MAX_BYTES is 2 MB but the csv module refuses a field
    over csv.field_size_limit() (131072 characters) with csv.Error, not caught: a 500."""
    raw = b"dato;hvad skete der\n01-02-2024;" + b"x" * 131_073 + b"\n"
    try:
        rows, report = csv_import.parse(raw)
    except ValidationError:
        return
    assert not rows and report.errors


def test_bug_behaviour_label_with_a_comma():
    """stalkingpakke/csv_import.py RowForm.clean_behaviours splits the cell on "," and ";", so
    the labels "Beskeder, sms, mails" and "Overvågning, sporing" (as shown in the app and on
    the paper log) are never recognised; the row is refused as "Ukendt type adfærd"."""
    rows, report = csv_import.parse(
        'dato;hvad skete der;adfærd\n01-02-2024;Sms\'er;"Beskeder, sms, mails"\n'.encode()
    )
    assert report.errors == [] and rows[0]["behaviours"] == [Behaviour.MESSAGES]


@given(value=st.one_of(st.text(max_size=14), st.from_regex(r"\A\d{6}-?\d{4}\Z")))
@settings(max_examples=100, deadline=None)
def test_a_cpr_number_is_ten_digits_or_refused(value):
    try:
        digits = normalise_cpr(value)
    except ValidationError:
        return
    assert len(digits) == 10 and digits.isdigit()


def test_bug_cpr_with_non_ascii_digits():
    """cases/cpr.py normalise_cpr(): `digits.isdigit()` is true for any Unicode digit, so
    "٠١٠١٩٠١٢٣٤" (Arabic-Indic) is kept as is: stored, masked and blind-indexed differently from
    "0101901234", so the duplicate check misses it. Fullwidth digits are folded by stdnum."""
    assert normalise_cpr("٠١٠١٩٠١٢٣٤") == "0101901234"


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
class TestKnownBugs(WorldTestCase):
    def test_bug_year_one_in_the_incident_log_form(self):
        """stalkingpakke/incident_log.py content_hash(): occurred_at 0001-01-01 before 00:50 in
        Europe/Copenhagen (LMT +00:50:20) turns into year 0 in .astimezone(UTC): OverflowError,
        a 500 (also on SQLite's save). Fix: a lower bound on the date in IncidentEntryForm and
        RowForm (e.g. not before 1900), which also catches typos like 0024."""
        url = reverse("stalkingpakke:incident_log", args=[self.active_ref])
        data = {"occurred_at": "0001-01-01T00:00", "what_happened": "x", "behaviours": ["calls"]}
        response = self.post(self.coordinator, url, data)
        assert response.status_code == 200

    def test_bug_year_one_in_the_csv_import(self):
        raw = csv_bytes([{"dato": "01-01-0001", "hvad skete der": "x", "adfærd": "calls"}])
        try:
            report = csv_import.import_csv(
                actor=self.coordinator, case=self.case(self.active_ref), raw=raw
            )
        except ValidationError:
            return
        assert report.errors and not report.imported

    def test_bug_a_row_without_behaviours_in_the_csv_import(self):
        """stalkingpakke/models.py IncidentEntry.behaviours = JSONField(default=list) lacks
        blank=True, so _append()'s full_clean() refuses an empty list ("Dette felt kan ikke være
        tomt"), although RowForm and IncidentEntryForm make behaviours optional. The import
        raises that ValidationError after parse() said the file was fine (no row number)."""
        raw = csv_bytes([{"dato": "01-02-2024", "hvad skete der": "Ringede"}])
        before = IncidentEntry.objects.count()
        report = csv_import.import_csv(
            actor=self.coordinator, case=self.case(self.active_ref), raw=raw
        )
        assert report.imported == 1 and IncidentEntry.objects.count() == before + 1

    def test_bug_a_row_without_behaviours_in_the_incident_log_form(self):
        url = reverse("stalkingpakke:incident_log", args=[self.active_ref])
        data = {"occurred_at": "2026-03-02T21:40", "what_happened": "Ringede"}
        response = self.post(self.coordinator, url, data)
        assert response.status_code == 302


def _row(**cells):
    """A good row for the pins below, and what parse() should make of it."""
    cells = {"dato": "02-03-2026", "hvad skete der": "Ringede", **cells}
    names = {"sted": "place", "hvad skete der": "what_happened", "påvirkning": "effect"}
    expected = {
        "occurred_at": timezone.make_aware(datetime.datetime(2026, 3, 2)),
        "place": "",
        "what_happened": "",
        "behaviours": [],
        "witnesses": "",
        "evidence": "",
        "reported_to_police": False,
        "police_journal_number": "",
        "effect": "",
    } | {names[key]: value for key, value in cells.items() if key in names}
    return cells, expected


@PARSE
@given(rows=st.lists(good_row(cell_text), min_size=1, max_size=5), **rows_and_dialect)
@example(  # the apostrophes silently disappear: 'Jeg tør' sagde hun
    rows=[_row(**{"hvad skete der": "Han skrev 'du er min'", "påvirkning": "'Jeg tør' sagde hun"})],
    delimiter=";",
    encoding="utf-8",
    columns=COLUMN_NAMES,
)
@example(rows=[_row(påvirkning='"')], delimiter=";", encoding="utf-8", columns=COLUMN_NAMES)
@example(  # a comma file, a line break in the last cell: "Filen mangler kolonnerne"
    rows=[_row(), _row(påvirkning="Bange\nSover dårligt")],
    delimiter=",",
    encoding="utf-8",
    columns=COLUMN_NAMES,
)
@example(  # Excel, comma, CRLF, a quoted cell with a comma: "Filen mangler kolonnerne"
    rows=[_row(), _row(påvirkning="Bange, sover dårligt")],
    delimiter=",",
    encoding="utf-8",
    columns=COLUMN_NAMES,
)
@example(rows=[_row(påvirkning=';";')], delimiter=",", encoding="utf-8", columns=COLUMN_NAMES)
def test_bug_sniffer_misreads_quotes_and_delimiters(rows, delimiter, encoding, columns):
    """stalkingpakke/csv_import.py parse(): csv.Sniffer().sniff() guesses the quote character and
    doublequote from the data. A file written the way Excel writes it is then misread:
    - a cell like  'Jeg tør' sagde hun  (apostrophes, no double quotes in the file) makes "'"
      the quote character: the apostrophes vanish, silently, from the hash-chained log;
    - a cell holding one double quote (written as four) comes back as two;
    - a quoted cell holding the delimiter or a line break (a ','-file from Excel with
      "Bange, sover dårligt" or "Bange<Alt+Enter>Sover dårligt" in the last column), or a cell
      holding ';' in a ','-file: the Sniffer gives up (and ';' is assumed) or picks ';':
      "Filen mangler kolonnerne: dato, hvad skete der" for a good file.
    Fix: pick only the delimiter (the one of ';', ',', tab that gives the required columns in
    the header line) and read with csv.excel and that delimiter (double quote as the quote
    character, doublequote=True).
    """
    assert_parse_back(rows, delimiter, encoding, columns)
