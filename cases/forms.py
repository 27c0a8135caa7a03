from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cooperation.models import Organisation, Unit
from cooperation.ui import DateInput, DkfdsFormMixin

from .cpr import birth_date_from_cpr, normalise_cpr
from .models import (
    Case,
    CaseState,
    ChildrenNotification,
    ClosingReason,
    ConsentPartner,
    ConsentScope,
    PersonKind,
    ReferralStatus,
    Relation,
    Urgency,
    YesNoUnknown,
)
from .services import (
    FORWARD_COMMENT_MAX_LENGTH,
    MSG_BIRTH_DATE_FUTURE,
    MSG_CHILDREN,
    MSG_FORWARD_COMMENT,
    MSG_ONWARD_REASON,
    MSG_REASON_REQUIRED,
    MSG_ROUTE_NEEDED,
    MSG_ROUTE_NOT_STALKING,
    PERSON_FIELDS,
    partner_referral_problem,
)

User = get_user_model()

CONSENT_CHOICES = [
    (f"{partner}:{scope}", f"{partner_label}: {scope_label}")
    for partner, partner_label in ConsentPartner.choices
    for scope, scope_label in ConsentScope.choices
]


MSG_BIRTH_DATE_NOT_CPR = _(
    "Fødselsdatoen passer ikke med CPR-nummeret. Ret den, eller lad feltet stå tomt."
)
DATE_FORMATS = ["%Y-%m-%d", "%d.%m.%Y", "%d-%m-%Y", "%d/%m/%Y"]


def parse_consents(values) -> list[tuple[str, str]]:
    return [tuple(value.split(":", 1)) for value in values]


def _cpr_field(label, help_text) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=11,
        help_text=help_text,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )


def _birth_date_field(help_text) -> forms.DateField:
    return forms.DateField(
        label=_("Fødselsdato"),
        required=False,
        widget=DateInput(),
        input_formats=DATE_FORMATS,
        help_text=help_text,
    )


class PersonFieldsMixin:
    """The CPR number and birth date, as the referral form and the correction of the person's
    details check them."""

    def clean_cpr(self):
        value = self.cleaned_data["cpr"].strip()
        return normalise_cpr(value) if value else ""

    def clean_birth_date(self):
        born = self.cleaned_data["birth_date"]
        if born and born > timezone.localdate():
            raise ValidationError(MSG_BIRTH_DATE_FUTURE)
        return born

    def clean(self):
        data = super().clean()
        cpr, born = data.get("cpr"), data.get("birth_date")
        if cpr and born and born != birth_date_from_cpr(cpr):
            # The CPR number holds the birth date; two that disagree would also keep the
            # duplicate check from finding the person.
            self.add_error("birth_date", MSG_BIRTH_DATE_NOT_CPR)
        return data


class ReferralForm(PersonFieldsMixin, DkfdsFormMixin, forms.Form):
    """The first contact's referral: only what the visitator needs to act. Under two minutes."""

    municipality = forms.ModelChoiceField(
        label=_("Kommune"),
        queryset=Organisation.objects.none(),
        empty_label=_("Vælg kommune"),
        error_messages={"required": _("Vælg den kommune, henvisningen skal sendes til.")},
    )
    full_name = forms.CharField(
        label=_("Navn på den udsatte"),
        max_length=200,
        error_messages={"required": _("Skriv navnet på den udsatte.")},
    )
    person_kind = forms.ChoiceField(
        label=_("Den udsatte er"),
        choices=PersonKind.choices,
        initial=PersonKind.CITIZEN,
        widget=forms.RadioSelect,
    )
    cpr = _cpr_field(
        _("CPR-nummer"),
        _("10 cifre, fx 010190-1234. Kan udelades, hvis borgeren ikke vil oplyse det."),
    )
    birth_date = _birth_date_field(
        _(
            "Kun hvis CPR-nummeret ikke oplyses: med navn og fødselsdato kan visitatoren se, "
            "om borgeren allerede har en sag."
        )
    )
    safe_contact = forms.CharField(
        label=_("Sikker måde at kontakte borgeren på"),
        max_length=300,
        help_text=_("Fx et telefonnummer, kun sms, eller gennem en bestemt person."),
        error_messages={
            "required": _("Skriv, hvordan borgeren kan kontaktes sikkert, fx kun sms.")
        },
    )
    safe_contact_time = forms.CharField(
        label=_("Hvornår er det sikkert at kontakte"),
        max_length=200,
        required=False,
    )
    urgency = forms.TypedChoiceField(
        label=_("Hastegrad"),
        choices=Urgency.choices,
        coerce=int,
        initial=Urgency.NORMAL,
        widget=forms.RadioSelect,
        # Before sending, not only in the advice after it: the referral is no emergency call.
        help_text=_("Er borgeren i fare lige nu, så ring 112 først."),
    )
    reason = forms.CharField(
        label=_("Kort om situationen"),
        widget=forms.Textarea,
        max_length=4000,
        help_text=_("Hvad er der sket, og hvad har borgeren brug for? Et par linjer er nok."),
        error_messages={"required": _("Skriv et par linjer om situationen.")},
    )
    relation = forms.ChoiceField(
        label=_("Relation til den, der stalker"),
        choices=Relation.choices,
        initial=Relation.UNKNOWN,
    )
    stalker_works_in_municipality = forms.ChoiceField(
        label=_("Arbejder den, der stalker, i kommunen?"),
        choices=YesNoUnknown.choices,
        initial=YesNoUnknown.UNKNOWN,
        widget=forms.RadioSelect,
    )
    children_in_household = forms.BooleanField(label=_("Der bor børn i husstanden"), required=False)
    consents = forms.MultipleChoiceField(
        label=_("Borgeren giver samtykke til, at disse oplysninger må deles"),
        choices=CONSENT_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Kun det borgeren har sagt ja til. Samtykket kan trækkes tilbage."),
    )

    def __init__(self, *args, municipalities=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["municipality"].queryset = municipalities or Organisation.objects.none()
        if municipalities is not None and municipalities.count() == 1:
            self.fields["municipality"].initial = municipalities.first()
            self.fields["municipality"].empty_label = None
        # Several (the police contact's district): no municipality is chosen for them, so a
        # referral is not sent to the first in the list by mistake.

    def clean_consents(self):
        return parse_consents(self.cleaned_data["consents"])


class PersonForm(PersonFieldsMixin, DkfdsFormMixin, forms.Form):
    """Correcting the person's details on an open case. The CPR number on the case is never put
    in the form: typed, a number adds or replaces it; left empty, it stays. (A refused form
    shows the typist the number they typed, as every field keeps its input.) With a CPR number
    on the case the birth date follows it and is not in the form."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    full_name = ReferralForm.base_fields["full_name"]
    person_kind = ReferralForm.base_fields["person_kind"]
    cpr = _cpr_field(
        _("Nyt CPR-nummer"),
        _(
            "Kun hvis CPR-nummeret skal tilføjes eller rettes, fx 010190-1234. "
            "Lad feltet stå tomt for at beholde det, der er på sagen."
        ),
    )
    birth_date = _birth_date_field(
        _("Med navn og fødselsdato kan visitatoren se, om borgeren har en sag i forvejen.")
    )
    remove_cpr = forms.BooleanField(
        label=_("Fjern CPR-nummeret fra sagen"),
        required=False,
        help_text=_("Hvis nummeret er forkert, fx en anden persons."),
    )
    safe_contact = ReferralForm.base_fields["safe_contact"]
    safe_contact_time = ReferralForm.base_fields["safe_contact_time"]
    relation = ReferralForm.base_fields["relation"]
    stalker_works_in_municipality = ReferralForm.base_fields["stalker_works_in_municipality"]
    children_in_household = ReferralForm.base_fields["children_in_household"]
    children_notification = forms.ChoiceField(
        label=_("Skal der sendes en underretning om børnene?"),
        choices=ChildrenNotification.choices,
        required=False,
        widget=forms.RadioSelect,
        help_text=_("Skal besvares, når der bor børn i husstanden."),
    )

    def __init__(self, *args, case: Case, **kwargs):
        initial = {name: getattr(case, name) for name in PERSON_FIELDS}
        initial["version"] = case.version
        super().__init__(*args, initial=initial, **kwargs)
        self.has_cpr = bool(case.cpr_index)
        if self.has_cpr:
            del self.fields["birth_date"]
        else:
            del self.fields["remove_cpr"]
        if case.triaged_at:
            # Required with children: not labelled "(frivilligt)" (field.html).
            self.fields["children_notification"].conditional = True
        else:
            del self.fields["children_notification"]  # triage asks it

    def details(self) -> dict:
        return {name: self.cleaned_data[name] for name in PERSON_FIELDS if name in self.fields}


class TriageForm(DkfdsFormMixin, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    is_stalking = forms.TypedChoiceField(
        label=_("Er der tale om stalking?"),
        choices=[("yes", _("Ja, det er stalking")), ("no", _("Nej, ikke stalking"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    reasoning = forms.CharField(
        label=_("Begrundelse"),
        widget=forms.Textarea,
        max_length=4000,
        help_text=_("Hvad har du lagt vægt på? Kolleger og borgeren kan få den at se."),
    )
    children_notification = forms.ChoiceField(
        label=_("Skal der sendes en underretning om børnene?"),
        choices=ChildrenNotification.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    coordinator = forms.ModelChoiceField(
        label=_("Primær koordinator"),
        queryset=None,
        required=False,
        empty_label=_("Ingen koordinator"),
    )
    to_police = forms.BooleanField(label=_("Henvis til politiets kontaktperson"), required=False)
    to_dsc = forms.BooleanField(label=_("Henvis til Dansk Stalking Center"), required=False)
    advice_given = forms.CharField(
        label=_("Rådgivning givet, hvis det ikke er stalking"),
        widget=forms.Textarea,
        required=False,
        max_length=4000,
    )

    def __init__(self, *args, case: Case, coordinators, consents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["coordinator"].queryset = coordinators
        self.fields["coordinator"].label_from_instance = lambda u: u.get_full_name() or u.username
        if case.children_in_household:
            # Asked with the rest, not after the route is right (the service checks it too).
            self.fields["children_notification"].required = True
            self.fields["children_notification"].error_messages["required"] = MSG_CHILDREN
        else:
            del self.fields["children_notification"]
        # Not optional, not required: one of the three when it is stalking (clean).
        for name in ("coordinator", "to_police", "to_dsc"):
            self.fields[name].conditional = True
        self.fields["coordinator"].help_text = _(
            "Er det stalking, så vælg mindst én: en primær koordinator, politiet eller Dansk "
            "Stalking Center."
        )
        # A route the citizen has not consented to is shown, but cannot be chosen: offered
        # and then refused, the visitator would learn it only after sending the form.
        for name, partner in (("to_police", ConsentPartner.POLICE), ("to_dsc", ConsentPartner.DSC)):
            problem = partner_referral_problem(partner, consents, referrals=())
            if problem:
                self.fields[name].disabled = True
                advice = _("Registrér samtykket på sagen først; så kan du vælge det her.")
                self.fields[name].help_text = f"{problem} {advice}"

    def clean(self):
        data = super().clean()
        if data.get("is_stalking") is False:
            if data.get("coordinator") or data.get("to_police") or data.get("to_dsc"):
                raise ValidationError(MSG_ROUTE_NOT_STALKING)
            return data
        if data.get("is_stalking") and not (
            data.get("coordinator") or data.get("to_police") or data.get("to_dsc")
        ):
            raise ValidationError(MSG_ROUTE_NEEDED)
        return data


class NoteForm(DkfdsFormMixin, forms.Form):
    text = forms.CharField(
        label=_("Nyt notat"),
        widget=forms.Textarea,
        max_length=10000,
        error_messages={"required": _("Skriv notatet, før du gemmer det.")},
    )


class CloseForm(DkfdsFormMixin, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.ChoiceField(
        label=_("Årsag"),
        # A blank first choice: a form sent without choosing must not close the case with
        # whatever reason happens to be listed first.
        choices=[("", _("Vælg årsag"))]
        + [c for c in ClosingReason.choices if c[0] != ClosingReason.MERGED],
        error_messages={"required": _("Vælg, hvorfor sagen lukkes.")},
    )
    comment = forms.CharField(
        label=_("Kommentar"),
        widget=forms.Textarea,
        required=False,
        max_length=4000,
        help_text=_("Skal udfyldes, hvis årsagen er »Andet«."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Required with "Andet": not labelled "(frivilligt)" (field.html).
        self.fields["comment"].conditional = True


class ReasonForm(DkfdsFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("Begrundelse"),
        widget=forms.Textarea,
        max_length=4000,
        error_messages={"required": _("Skriv en begrundelse.")},
    )


class ForwardForm(DkfdsFormMixin, forms.Form):
    """Where a misdirected referral goes, and why. The municipality is chosen by its code (the
    one in case references), which is the same in every installation's forms and tests."""

    municipality = forms.ModelChoiceField(
        label=_("Kommune"),
        queryset=Organisation.objects.none(),
        to_field_name="code",
        empty_label=_("Vælg kommune"),
        help_text=_("Kommunen, hvor borgeren bor. Kun kommuner med en stalkingvisitator."),
        error_messages={
            "required": _("Vælg den kommune, henvisningen skal videresendes til."),
            "invalid_choice": _("Vælg en af kommunerne på listen."),
        },
    )
    comment = forms.CharField(
        label=_("Hvorfor videresendes henvisningen? Modtageren kan læse det."),
        widget=forms.Textarea,
        max_length=FORWARD_COMMENT_MAX_LENGTH,
        help_text=_("Fx at borgeren bor eller er flyttet dertil. Skriv kort."),
        error_messages={"required": MSG_FORWARD_COMMENT},
    )

    def __init__(self, *args, municipalities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["municipality"].queryset = municipalities


class OnwardReferralForm(DkfdsFormMixin, forms.Form):
    """Referring the citizen onward: to a department of the case's municipality or to an
    external actor. Both fields are on the page (no script needed); the choice says which
    one counts, and the other is not sent on."""

    UNIT, EXTERNAL = "unit", "external"

    recipient = forms.ChoiceField(
        label=_("Hvem henviser I til?"),
        choices=[(UNIT, _("Intern afdeling")), (EXTERNAL, _("Ekstern aktør"))],
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Vælg, om I henviser til en afdeling i kommunen eller en ekstern aktør.")
        },
    )
    unit = forms.ModelChoiceField(
        label=_("Afdeling i kommunen"),
        queryset=Unit.objects.none(),
        required=False,
        empty_label=_("Vælg afdeling"),
        help_text=_("Skal udfyldes, hvis I henviser til en intern afdeling."),
        error_messages={"invalid_choice": _("Vælg en af kommunens afdelinger på listen.")},
    )
    external = forms.CharField(
        label=_("Ekstern aktør"),
        max_length=200,
        required=False,
        help_text=_(
            "Skal udfyldes, hvis I henviser til en ekstern aktør: stedets eller fagpersonens "
            "navn, fx Krisecentret, Offerrådgivningen eller en advokat. Ikke borgerens navn."
        ),
    )
    reason = forms.CharField(
        label=_("Hvad beder I om hjælp til?"),
        widget=forms.Textarea,
        max_length=4000,
        help_text=_(
            "Kort: hvad skal afdelingen eller aktøren hjælpe borgeren med? Politiet og Dansk "
            "Stalking Center kan ikke se henvisningen."
        ),
        error_messages={"required": MSG_ONWARD_REASON},
    )

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        self.fields["unit"].label_from_instance = lambda unit: unit.name
        # Required with one choice or the other: not labelled "(frivilligt)" (field.html).
        self.fields["unit"].conditional = self.fields["external"].conditional = True

    def clean(self):
        data = super().clean()
        recipient, missing = data.get("recipient"), None
        if recipient == self.UNIT and not data.get("unit"):
            missing = ("unit", _("Vælg afdelingen."))
        elif recipient == self.EXTERNAL and not data.get("external", "").strip():
            missing = ("external", _("Skriv navnet på den eksterne aktør."))
        if missing and missing[0] not in self.errors:  # not over "not on the list" or too long
            self.add_error(*missing)
        return data

    def recipient_kwargs(self) -> dict:
        """The chosen recipient for services.refer_onward; the other field is left out."""
        data = self.cleaned_data
        if data["recipient"] == self.UNIT:
            return {"unit": data["unit"], "external": ""}
        return {"unit": None, "external": data["external"]}


# How the answers to an onward referral read in the form (the status's own label is short).
ONWARD_OUTCOME_LABELS = {
    ReferralStatus.ACCEPTED: _("Modtaget: de tager sig af det"),
    ReferralStatus.DECLINED: _("Afvist"),
    ReferralStatus.COMPLETED: _("Afsluttet: hjælpen er givet"),
}


class OnwardOutcomeForm(DkfdsFormMixin, forms.Form):
    """The answer to an onward referral: only the statuses allowed from its current one."""

    status = forms.ChoiceField(
        label=_("Hvad er svaret?"),
        widget=forms.RadioSelect,
        error_messages={"required": _("Vælg, hvad der er kommet ud af henvisningen.")},
    )
    reason = forms.CharField(
        label=_("Begrundelse for afvisningen"),
        widget=forms.Textarea,
        required=False,
        max_length=4000,
        help_text=_("Skal udfyldes, hvis henvisningen er afvist: hvad svarede de?"),
    )

    def __init__(self, *args, allowed, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [(s, ONWARD_OUTCOME_LABELS[s]) for s in allowed]
        self.fields["reason"].conditional = True  # required with a decline (field.html)
        if len(allowed) == 1:
            self.fields["status"].initial = allowed[0]

    def clean(self):
        data = super().clean()
        declined = data.get("status") == ReferralStatus.DECLINED
        if declined and not data.get("reason", "").strip() and "reason" not in self.errors:
            self.add_error("reason", MSG_REASON_REQUIRED)
        return data


class ConsentForm(DkfdsFormMixin, forms.Form):
    partner = forms.ChoiceField(label=_("Modtager"), choices=ConsentPartner.choices)
    scopes = forms.MultipleChoiceField(
        label=_("Oplysninger borgeren siger ja til at dele"),
        choices=ConsentScope.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Vælg mindst én slags oplysninger, borgeren siger ja til.")},
    )


class DisqualifyForm(DkfdsFormMixin, forms.Form):
    user = forms.ModelChoiceField(
        label=_("Medarbejder"),
        queryset=None,
        empty_label=_("Vælg medarbejder"),
        help_text=_(
            "Alle med en rolle i kommunen, politikredsen eller Dansk Stalking Center, som "
            "sagen kan deles med, med deres roller."
        ),
    )
    reason = forms.CharField(
        label=_("Begrundelse"),
        max_length=300,
        help_text=_("Fx: er i familie med borgeren, eller er den, der stalker."),
    )

    def __init__(self, *args, users, reach=None, **kwargs):
        super().__init__(*args, **kwargs)
        reach = reach or {}
        self.fields["user"].queryset = users
        self.fields["user"].label_from_instance = lambda u: " – ".join(
            [f"{u.get_full_name() or u.username} ({u.username})", *reach.get(u.pk, [])]
        )


class ReassignForm(DkfdsFormMixin, forms.Form):
    """Whom an active case is handed to, and why (services.reassign). `holders`: the
    coordinators' role assignments the case can go to (services.reassign_candidates), which
    give each name its unit."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    to_user = forms.ModelChoiceField(
        label=_("Ny ansvarlig"),
        queryset=None,
        empty_label=_("Vælg koordinator"),
        help_text=_(
            "De primære koordinatorer i kommunen. Den nuværende ansvarlige og medarbejdere, "
            "der er inhabile i en sag om borgeren, står ikke på listen."
        ),
        error_messages={"required": _("Vælg, hvem der skal være ansvarlig for sagen.")},
    )
    reason = forms.CharField(
        label=_("Begrundelse"),
        widget=forms.Textarea,
        max_length=2000,
        error_messages={"required": MSG_REASON_REQUIRED},
        help_text=_(
            "Fx: sygemelding, orlov eller inhabilitet. Den nye ansvarlige og visitatorerne kan "
            "læse begrundelsen på sagen."
        ),
    )

    def __init__(self, *args, holders, **kwargs):
        super().__init__(*args, **kwargs)
        units: dict[int, list[str]] = {}
        for holder in holders:
            names = units.setdefault(holder.user_id, [])
            if holder.unit and holder.unit.name not in names:
                names.append(holder.unit.name)
        self.units = units
        self.fields["to_user"].queryset = User.objects.filter(pk__in=list(units)).order_by(
            "first_name", "last_name", "username"
        )
        self.fields["to_user"].label_from_instance = self._label

    def _label(self, user) -> str:
        name = user.get_full_name() or user.username
        units = self.units.get(user.pk)
        return f"{name} ({', '.join(units)})" if units else name


class NetworkMeetingForm(DkfdsFormMixin, forms.Form):
    held_on = forms.DateField(
        label=_("Dato for mødet"),
        widget=DateInput(),
        input_formats=DATE_FORMATS,
        help_text=_("Er mødet kun planlagt, så skriv den dag, det skal holdes."),
        error_messages={"required": _("Skriv, hvilken dag mødet holdes eller blev holdt.")},
    )
    participants = forms.CharField(
        label=_("Deltagere"),
        widget=forms.Textarea,
        max_length=2000,
        help_text=_(
            "Skriv roller og organisationer, fx: borgeren, primær koordinator "
            "(Familierådgivningen), politiets kontaktperson, Dansk Stalking Center, "
            "Jobcentret, Krisecenteret. Ikke medarbejdernes navne; navne fra borgerens eget "
            "netværk kun, når det er nødvendigt."
        ),
        error_messages={"required": _("Skriv, hvem der deltager i mødet.")},
    )
    purpose = forms.CharField(
        label=_("Formål og dagsorden"),
        widget=forms.Textarea,
        max_length=4000,
        help_text=_("Hvorfor holdes mødet, og hvad skal der tales om?"),
        error_messages={"required": _("Skriv, hvad mødet skal handle om.")},
    )
    agreements = forms.CharField(
        label=_("Aftaler"),
        widget=forms.Textarea,
        required=False,
        max_length=10000,
        help_text=_(
            "Hvem gør hvad, og hvornår. Skal udfyldes, når mødet er holdt; et planlagt møde "
            "kan vente med det."
        ),
    )
    next_meeting = forms.DateField(
        label=_("Næste møde"),
        required=False,
        widget=DateInput(),
        input_formats=DATE_FORMATS,
    )


class NetworkMeetingEditForm(NetworkMeetingForm):
    """The same fields, and the version the form was opened with (optimistic locking)."""

    version = forms.IntegerField(widget=forms.HiddenInput)

    field_order = ["version"]


SEARCH_LABEL = _("Søg på sagsnummer, navn eller CPR-nummer")


# The lists' filter on the high-risk mark (cases.selectors._high_risk): what the reader may see
# of the latest assessment, as the mark itself.
HIGH_RISK_LABEL = _("Kun sager med høj risiko ved seneste afdækning")


class CaseListFilterForm(DkfdsFormMixin, forms.Form):
    q = forms.CharField(label=SEARCH_LABEL, required=False, max_length=100)
    state = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Alle")), *CaseState.choices]
    )
    high_risk = forms.BooleanField(label=HIGH_RISK_LABEL, required=False)


class QueueFilterForm(DkfdsFormMixin, forms.Form):
    q = forms.CharField(label=SEARCH_LABEL, required=False, max_length=100)
    state = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Alle")), ("referred", _("Henvist")), ("in_triage", _("Under visitation"))],
    )
    urgency = forms.TypedChoiceField(
        label=_("Hastegrad"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("Alle")), *Urgency.choices],
    )
    overdue = forms.BooleanField(label=_("Kun overskredne frister"), required=False)
    high_risk = forms.BooleanField(label=HIGH_RISK_LABEL, required=False)
