"""Import of incident log rows from a spreadsheet (CSV), with a row-by-row report.

A file with any bad row changes nothing. Danish Excel writes ';' and cp1252 or UTF-8 with a
BOM, so the encoding falls back and the delimiter is sniffed.

The log is append-only, so an import is shown before it is saved: the upload answers with a
preview, and the file travels to the confirming POST in a hidden field (for_confirmation),
compressed and in base64, not kept on the server. The confirming POST is parsed and checked
again exactly like an upload (from_confirmation gives back the same bytes, within the same
size limit): the hidden field is trusted no more than the file.
"""

import base64
import binascii
import csv
import io
import zlib
from dataclasses import dataclass, field

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from .incident_log import add_entries
from .models import Behaviour

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
EARLIEST_YEAR = 1900
COLUMNS = {
    "dato": "date",
    "tid": "time",
    "sted": "place",
    "hvad skete der": "what_happened",
    "adfærd": "behaviours",
    "vidner": "witnesses",
    "beviser": "evidence",
    "anmeldt": "reported_to_police",
    "journalnummer": "police_journal_number",
    "påvirkning": "effect",
}
REQUIRED_COLUMNS = {"date", "what_happened"}
DATE_FORMATS = ["%d-%m-%Y", "%d.%m.%Y", "%d/%m/%Y", "%Y-%m-%d"]
TIME_FORMATS = ["%H:%M", "%H.%M", "%H:%M:%S"]
YES = {"ja", "j", "yes", "y", "1", "x", "true"}
NO = {"nej", "n", "no", "0", "", "false"}
# A file to start from, linked from the import page: the columns, the formats and the words
# the import understands, with made-up rows and no personal data (test_stalkingpakke.py
# imports it).
SAMPLE_PATH = "stalkingpakke/logskema-eksempel.csv"


def _behaviour_lookup() -> dict[str, str]:
    """Keys, and the Danish and English labels, whatever language the request is in; and
    each word of a label that lists several ("sms" of "Beskeder, sms, mails")."""
    lookup = {value: value for value in Behaviour.values}
    for language in ("da", "en"):
        with translation.override(language):
            for value, label in Behaviour.choices:
                label = str(label).lower()
                lookup[label] = value
                for part in (p.strip() for p in label.split(",")):
                    lookup.setdefault(part, value)
    return lookup


def help_for_page() -> dict:
    """What the import page tells the user: the column names, the date and time formats
    (shown as examples, the same in every language) and the words for the behaviours."""
    example = timezone.datetime(2026, 3, 2, 21, 40)
    return {
        "columns": [(name, COLUMNS[name] in REQUIRED_COLUMNS) for name in COLUMNS],
        "dates": [example.strftime(f) for f in DATE_FORMATS],
        "times": [example.strftime(f) for f in TIME_FORMATS],
        "behaviours": [label for _value, label in Behaviour.choices],
        "sample": SAMPLE_PATH,
    }


class RowForm(forms.Form):
    date = forms.DateField(input_formats=DATE_FORMATS)
    time = forms.TimeField(required=False, input_formats=TIME_FORMATS)
    place = forms.CharField(required=False, max_length=300)
    what_happened = forms.CharField(max_length=10000)
    behaviours = forms.CharField(required=False, max_length=500)
    witnesses = forms.CharField(required=False, max_length=500)
    evidence = forms.CharField(required=False, max_length=500)
    reported_to_police = forms.CharField(required=False, max_length=10)
    police_journal_number = forms.CharField(required=False, max_length=50)
    effect = forms.CharField(required=False, max_length=10000)

    def clean_behaviours(self):
        raw = self.cleaned_data["behaviours"].lower()
        lookup = _behaviour_lookup()
        # Labels may contain commas ("Beskeder, sms, mails"): take whole labels out first.
        for label in sorted((k for k in lookup if "," in k), key=len, reverse=True):
            raw = raw.replace(label, lookup[label])
        parts = [p.strip() for p in raw.replace(";", ",").split(",") if p.strip()]
        unknown = [p for p in parts if p not in lookup]
        if unknown:
            raise ValidationError(_("Ukendt type adfærd: %(v)s"), params={"v": ", ".join(unknown)})
        return [lookup[p] for p in parts]

    def clean_reported_to_police(self):
        value = self.cleaned_data["reported_to_police"].strip().lower()
        if value in YES:
            return True
        if value in NO:
            return False
        raise ValidationError(_("Skriv ja eller nej."))

    def clean(self):
        data = super().clean()
        if "date" in data and data["date"].year < EARLIEST_YEAR:
            raise ValidationError(_("Datoen er for gammel."))
        if "date" in data and not self.errors:
            moment = timezone.make_aware(
                timezone.datetime.combine(
                    data["date"], data.get("time") or timezone.datetime.min.time()
                )
            )
            if moment > timezone.now():
                raise ValidationError(_("Datoen ligger i fremtiden."))
            data["occurred_at"] = moment
        for key in ("place", "what_happened", "witnesses", "evidence", "effect"):
            if "\x00" in data.get(key, ""):
                raise ValidationError(_("Feltet indeholder ugyldige tegn."))
        return data


def _dialect_for(header_line: str) -> type[csv.Dialect]:
    """The delimiter that splits the header into the most known column names."""

    def known(delimiter: str) -> int:
        names = [h.strip().strip('"').lower() for h in header_line.split(delimiter)]
        return sum(name in COLUMNS for name in names)

    delimiter = max((";", ",", "\t"), key=known)
    return type("ExcelDialect", (csv.excel,), {"delimiter": delimiter})


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    errors: list[tuple[int, list[str]]] = field(default_factory=list)
    # The positions (in the parsed rows) of rows without a time: saved at 00:00, and from
    # then on not told apart from a row that says 00:00; the preview says so before.
    without_time: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and self.imported > 0


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError(_("Filen kunne ikke læses. Gem den som CSV (UTF-8)."))


def parse(raw: bytes) -> tuple[list[dict], ImportReport]:
    report = ImportReport()
    if len(raw) > MAX_BYTES:
        raise ValidationError(_("Filen er for stor (højst 2 MB)."))
    text = _decode(raw).replace("\x00", "")
    if not text.strip():
        raise ValidationError(_("Filen er tom."))
    # Only the delimiter is guessed, from the header line: csv.Sniffer also guesses quoting
    # from the data and then silently alters cells (apostrophes, lone quotes).
    dialect = _dialect_for(text.split("\n", 1)[0])
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        return _read(reader, report)
    except csv.Error as exc:
        raise ValidationError(
            _("Filen kunne ikke læses som CSV (%(reason)s)."), params={"reason": str(exc)[:100]}
        ) from exc


def _read(reader, report: "ImportReport") -> tuple[list[dict], "ImportReport"]:
    written = [h.strip() for h in next(reader, [])]
    header = [h.lower() for h in written]
    mapping = [COLUMNS.get(h) for h in header]
    # An error names the column as the user's file writes it ("Dato"), never the field.
    column_of = {key: name for key, name in zip(mapping, written, strict=True) if key}
    missing = REQUIRED_COLUMNS - set(mapping)
    if missing:
        names = [k for k, v in COLUMNS.items() if v in missing]
        raise ValidationError(
            _("Filen mangler kolonnerne: %(names)s"), params={"names": ", ".join(names)}
        )
    rows = []
    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        report.rows += 1
        if report.rows > MAX_ROWS:
            raise ValidationError(
                _("Filen har for mange rækker (højst %(n)d)."), params={"n": MAX_ROWS}
            )
        data = {key: value.strip() for key, value in zip(mapping, values, strict=False) if key}
        if len(values) > len(header):
            report.errors.append((number, [str(_("Rækken har flere felter end overskriften."))]))
            continue
        form = RowForm(data)
        if not form.is_valid():
            messages = [
                f"{column_of[field]}: {' '.join(errs)}" if field in column_of else " ".join(errs)
                for field, errs in form.errors.items()
            ]
            report.errors.append((number, messages))
            continue
        clean = form.cleaned_data
        rows.append(
            {
                "occurred_at": clean["occurred_at"],
                "place": clean["place"],
                "what_happened": clean["what_happened"],
                "behaviours": clean["behaviours"],
                "witnesses": clean["witnesses"],
                "evidence": clean["evidence"],
                "reported_to_police": clean["reported_to_police"],
                "police_journal_number": clean["police_journal_number"],
                "effect": clean["effect"],
            }
        )
        if clean["time"] is None:
            report.without_time.append(len(rows) - 1)
    return rows, report


MSG_CONFIRMATION_UNREADABLE = _("Filen kunne ikke læses igen. Vælg filen, og prøv igen.")
# The hidden field must fit in a form under Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB).
# Text compresses to a fraction, so a CSV file within MAX_BYTES always fits; only a file of
# random bytes (never a valid one) would not, and it is refused at the upload.
MAX_CONFIRMATION_CHARS = 2 * 1024 * 1024


def for_confirmation(raw: bytes) -> str:
    """The uploaded bytes for the hidden field of the preview: compressed and in base64."""
    text = base64.b64encode(zlib.compress(raw, level=6)).decode("ascii")
    if len(text) > MAX_CONFIRMATION_CHARS:
        raise ValidationError(_("Filen er for stor (højst 2 MB)."))
    return text


def from_confirmation(text: str) -> bytes:
    """The bytes of for_confirmation back, or a ValidationError. Never more than MAX_BYTES
    + 1 are unpacked, so parse() refuses a file that is too big as it refuses an upload."""
    if not text or len(text) > MAX_CONFIRMATION_CHARS:
        raise ValidationError(MSG_CONFIRMATION_UNREADABLE, code="confirmation")
    try:
        packed = base64.b64decode(text.encode("ascii"), validate=True)
        unpacker = zlib.decompressobj()
        raw = unpacker.decompress(packed, MAX_BYTES + 1)
    except (UnicodeEncodeError, binascii.Error, zlib.error) as exc:
        raise ValidationError(MSG_CONFIRMATION_UNREADABLE, code="confirmation") from exc
    if not unpacker.eof and len(raw) <= MAX_BYTES:
        raise ValidationError(MSG_CONFIRMATION_UNREADABLE, code="confirmation")
    return raw


def import_csv(
    *, actor, case, raw: bytes, expected_last: int | None = None, request=None
) -> ImportReport:
    rows, report = parse(raw)
    if report.errors or not rows:
        return report
    add_entries(actor=actor, case=case, rows=rows, expected_last=expected_last, request=request)
    report.imported = len(rows)
    return report
