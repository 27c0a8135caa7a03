"""The forms of the consultation (sparring) pages: what they ask and how they explain it. The
rules themselves are in cooperation.consultations; the forms check the text too, so the
message appears next to the field."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .consultations import MSG_EMPTY_ANSWER, MSG_EMPTY_QUESTION, check_no_personal_data
from .models import (
    CONSULTATION_ANSWER_MAX_LENGTH,
    CONSULTATION_QUESTION_MAX_LENGTH,
    ConsultationKind,
)
from .ui import DkfdsFormMixin

QUESTION_HINT = _(
    "Beskriv situationen i generelle vendinger, så ingen kan regne ud, hvem det handler om. "
    "Skriv ikke navn, CPR-nummer, adresse, arbejdsplads, telefonnummer eller andet, der kan "
    "pege på en bestemt person, og heller ikke et sagsnummer: en sparring hører ikke til en sag."
)
ANSWER_HINT = _(
    "Svaret ses af den, der har spurgt. Hold det fri af personoplysninger, ligesom spørgsmålet."
)


def recipient_label(kind: str, organisation) -> str:
    if kind == ConsultationKind.VISITATOR:
        return _("Stalkingvisitatoren i %(name)s") % {"name": organisation.name}
    return str(organisation.name)


class ConsultationForm(DkfdsFormMixin, forms.Form):
    recipient = forms.ChoiceField(
        label=_("Hvem vil du spørge?"),
        widget=forms.RadioSelect,
        error_messages={"required": _("Vælg, hvem du vil spørge.")},
    )
    question = forms.CharField(
        label=_("Dit spørgsmål"),
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=CONSULTATION_QUESTION_MAX_LENGTH,
        help_text=QUESTION_HINT,
        error_messages={"required": MSG_EMPTY_QUESTION},
    )

    def __init__(self, *args, recipients, **kwargs):
        super().__init__(*args, **kwargs)
        self._recipients = {f"{kind}:{org.pk}": (kind, org) for kind, org in recipients}
        self.fields["recipient"].choices = [
            (value, recipient_label(kind, org)) for value, (kind, org) in self._recipients.items()
        ]
        if len(self._recipients) == 1:
            self.fields["recipient"].initial = next(iter(self._recipients))

    def clean_question(self):
        question = self.cleaned_data["question"]
        check_no_personal_data(question)
        return question

    def recipient_choice(self):
        """(kind, organisation) of the chosen recipient; after is_valid()."""
        return self._recipients[self.cleaned_data["recipient"]]


class AnswerForm(DkfdsFormMixin, forms.Form):
    answer = forms.CharField(
        label=_("Dit svar"),
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=CONSULTATION_ANSWER_MAX_LENGTH,
        help_text=ANSWER_HINT,
        error_messages={"required": MSG_EMPTY_ANSWER},
    )

    def clean_answer(self):
        answer = self.cleaned_data["answer"]
        check_no_personal_data(answer)
        return answer
