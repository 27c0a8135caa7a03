import datetime

from django import forms
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext_lazy as _

from cooperation.ui import DateInput, DkfdsFormMixin

from .content import text
from .models import ActionStatus, Behaviour, ToolKind


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class IncidentEntryForm(DkfdsFormMixin, forms.Form):
    occurred_at = forms.DateTimeField(
        label=_("Dato og tidspunkt"),
        widget=DateTimeLocalInput(),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d-%m-%Y %H:%M"],
        error_messages={
            "required": _("Skriv, hvornår det skete: dato og klokkeslæt."),
            "invalid": _("Skriv dato og klokkeslæt som 24-12-2026 21:30."),
        },
    )
    place = forms.CharField(label=_("Sted"), max_length=300, required=False)
    what_happened = forms.CharField(
        label=_("Hvad skete der?"),
        widget=forms.Textarea,
        max_length=10000,
        help_text=_("Skriv det, der skete, så konkret som muligt: hvem, hvad, hvordan."),
        error_messages={"required": _("Skriv, hvad der skete.")},
    )
    behaviours = forms.MultipleChoiceField(
        label=_("Type adfærd"),
        choices=Behaviour.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    witnesses = forms.CharField(label=_("Vidner"), max_length=500, required=False)
    evidence = forms.CharField(
        label=_("Gemte beviser"),
        max_length=500,
        required=False,
        help_text=_("Fx skærmbillede, sms, opkaldsliste, foto."),
    )
    reported_to_police = forms.BooleanField(label=_("Anmeldt til politiet"), required=False)
    police_journal_number = forms.CharField(
        label=_("Politiets journalnummer"), max_length=50, required=False
    )
    effect = forms.CharField(
        label=_("Hvordan påvirkede det borgeren?"),
        widget=forms.Textarea,
        required=False,
        max_length=10000,
    )
    attachment = forms.FileField(
        label=_("Bilag"),
        required=False,
        help_text=_("PDF, JPEG, PNG eller tekst, højst 10 MB."),
    )

    def clean_occurred_at(self):
        value = self.cleaned_data["occurred_at"]
        if value.year < 1900:
            raise forms.ValidationError(_("Datoen er for gammel."))
        if value > timezone.now() + timezone.timedelta(minutes=5):
            raise forms.ValidationError(_("Tidspunktet ligger i fremtiden."))
        return value

    def clean_attachment(self):
        return _checked_file(self.cleaned_data.get("attachment"))

    def clean(self):
        data = super().clean()
        # A number without the tick was kept and shown as "Nej" (the log can then only be put
        # right by a correction): ask which of the two is meant.
        if data.get("police_journal_number", "").strip() and not data.get("reported_to_police"):
            self.add_error(
                "police_journal_number",
                _("Sæt kryds i »Anmeldt til politiet«, eller fjern journalnummeret."),
            )
        return data


def _checked_file(upload):
    """A chosen file is checked with the other fields (type, size: attachments.check_upload),
    so that a file that will be refused says so at once, on its own field, even when another
    field is wrong too; the service checks it again when it stores it."""
    if upload:
        from .attachments import check_upload

        check_upload(upload)
    return upload


class CorrectionForm(IncidentEntryForm):
    correction_reason = forms.CharField(label=_("Hvorfor rettes registreringen?"), max_length=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["attachment"]


class AttachmentForm(DkfdsFormMixin, forms.Form):
    file = forms.FileField(
        label=_("Bilag"), help_text=_("PDF, JPEG, PNG eller tekst, højst 10 MB.")
    )

    def clean_file(self):
        return _checked_file(self.cleaned_data.get("file"))


class CsvImportForm(DkfdsFormMixin, forms.Form):
    file = forms.FileField(
        label=_("CSV-fil"),
        help_text=_(
            "Gem regnearket som CSV (semikolon eller komma). Kolonnerne og formaterne står ovenfor."
        ),
    )


class ActionPlanForm(DkfdsFormMixin, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    goals = forms.CharField(label=_("Mål"), widget=forms.Textarea, required=False, max_length=10000)
    safety_measures = forms.CharField(
        label=_("Sikkerhedsforanstaltninger"),
        widget=forms.Textarea,
        required=False,
        max_length=10000,
    )
    next_review = forms.DateField(label=_("Næste opfølgning"), required=False, widget=DateInput())


class ActionItemForm(DkfdsFormMixin, forms.Form):
    who = forms.CharField(label=_("Hvem"), max_length=200, required=False)
    what = forms.CharField(label=_("Hvad"), max_length=2000, required=False)
    deadline = forms.DateField(label=_("Frist"), required=False, widget=DateInput())
    status = forms.ChoiceField(
        label=_("Status"), choices=ActionStatus.choices, initial=ActionStatus.NOT_STARTED
    )

    def clean(self):
        data = super().clean()
        who, what = data.get("who", "").strip(), data.get("what", "").strip()
        if bool(who) != bool(what):
            # On the empty one: the summary's link then leads to the field to fill in, and
            # that field is marked invalid.
            self.add_error(
                "what" if who else "who",
                _("Udfyld både hvem og hvad, eller lad begge stå tomme."),
            )
        return data


ActionItemFormSet = forms.formset_factory(ActionItemForm, extra=2, max_num=50)

YES_NO_UNKNOWN = [("yes", _("Ja")), ("no", _("Nej")), ("unknown", _("Ved ikke"))]


class ToolForm(DkfdsFormMixin, forms.Form):
    """A form built from a tool version's content: the questions are data, not code."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, kind: str, content: dict, **kwargs):
        self.kind = kind
        self.content = content
        self.sections = []
        fields = {}
        if kind == ToolKind.CHECKLIST:
            keys = []
            for q in content.get("questions", []):
                fields[q["key"]] = forms.ChoiceField(
                    label=text(q["text"]),
                    help_text=text(q.get("help")),
                    choices=YES_NO_UNKNOWN[:2],
                    widget=forms.RadioSelect,
                    required=False,
                )
                keys.append(q["key"])
            self.sections.append((text(content.get("title")), keys))
        elif kind == ToolKind.ASSESSMENT:
            for section in content.get("sections", []):
                keys = []
                for f in section.get("fields", []):
                    fields[f["key"]] = _field(f)
                    keys.append(f["key"])
                self.sections.append((text(section.get("heading")), keys))
            keys = []
            for r in content.get("risk_indicators", []):
                key = f"risk:{r['key']}"
                fields[key] = forms.ChoiceField(
                    label=text(r["text"]),
                    choices=YES_NO_UNKNOWN,
                    widget=forms.RadioSelect,
                    required=False,
                )
                keys.append(key)
            self.sections.append((str(_("Risikoscreening")), keys))
        elif kind == ToolKind.TYPOLOGY:
            fields["type"] = forms.ChoiceField(
                label=_("Hvilken type ligner det mest?"),
                required=False,
                choices=[("", _("Ikke vurderet"))]
                + [(t["key"], text(t["name"])) for t in content.get("types", [])],
                widget=forms.RadioSelect,
            )
            fields["notes"] = forms.CharField(
                label=_("Begrundelse og noter"),
                widget=forms.Textarea,
                required=False,
                max_length=10000,
            )
            self.sections.append((text(content.get("title")), ["type", "notes"]))
        super().__init__(*args, **kwargs)
        self.fields.update(fields)
        for field in fields.values():
            _style(field)

    def answers(self) -> dict:
        """JSON-ready answers; empty answers are left out."""
        return {
            key: value.isoformat() if hasattr(value, "isoformat") else value
            for key, value in self.cleaned_data.items()
            if key != "version" and value not in ("", None, [])
        }

    def grouped(self):
        return [(heading, [self[key] for key in keys]) for heading, keys in self.sections]

    def read_only(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """The questions and the saved answers as text, per section, for a reader who may not
        change them: no inputs that look editable but cannot be saved. An unanswered
        question says so."""
        return [
            (heading, [(self.fields[key].label, self._answer(key)) for key in keys])
            for heading, keys in self.sections
        ]

    def _answer(self, key: str) -> str:
        field, value = self.fields[key], self.initial.get(key)
        if value in (None, "", []):
            if isinstance(field, forms.ChoiceField):
                labels = dict(field.choices)
                if "" in labels:  # a choice of its own for "not yet" ("Ikke vurderet")
                    return str(labels[""])
            return str(_("Ikke besvaret"))
        if isinstance(field, forms.MultipleChoiceField):
            labels = dict(field.choices)
            values = value if isinstance(value, list) else [value]
            return ", ".join(str(labels.get(v, v)) for v in values)
        if isinstance(field, forms.ChoiceField):
            return str(dict(field.choices).get(value, value))
        if isinstance(field, forms.DateField):
            try:
                return date_format(datetime.date.fromisoformat(str(value)), "j. F Y")
            except ValueError:
                return str(value)
        return str(value)


def _style(field):
    widget = field.widget
    # CheckboxSelectMultiple is a subclass of RadioSelect in Django: ask for it first, or a
    # "tick all that apply" question looks like a choice of one.
    if isinstance(widget, forms.CheckboxSelectMultiple):
        widget.attrs.setdefault("class", "form-checkbox")
    elif isinstance(widget, forms.RadioSelect):
        widget.attrs.setdefault("class", "form-radio")
    elif isinstance(widget, forms.Select):
        widget.attrs.setdefault("class", "form-select")
    else:
        widget.attrs.setdefault("class", "form-input")


def _field(spec: dict) -> forms.Field:
    label = text(spec.get("label"))
    help_text = text(spec.get("help"))
    choices = [(c["key"], text(c["label"])) for c in spec.get("choices", [])]
    kind = spec.get("type", "text")
    common = {"label": label, "help_text": help_text, "required": False}
    if kind == "textarea":
        return forms.CharField(widget=forms.Textarea, max_length=10000, **common)
    if kind == "date":
        return forms.DateField(widget=DateInput(), **common)
    if kind == "yesno":
        return forms.ChoiceField(choices=YES_NO_UNKNOWN, widget=forms.RadioSelect, **common)
    if kind == "choice":
        return forms.ChoiceField(choices=choices, widget=forms.RadioSelect, **common)
    if kind == "multichoice":
        return forms.MultipleChoiceField(
            choices=choices, widget=forms.CheckboxSelectMultiple, **common
        )
    return forms.CharField(max_length=1000, **common)
