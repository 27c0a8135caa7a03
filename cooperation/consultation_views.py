"""The consultation (sparring) pages: the list, the form to ask, the question with its answer
form, and the confirmation to take a question back. Thin: the rules are in
cooperation.consultations.

Who gets what: the pages are for people who hold a role in the cooperation (others 403, as
the other role pages); a consultation that the user neither asked nor may answer answers 404;
a step the user may not take on a consultation they can see answers 403.

No read entries in the audit trail: a consultation is not case data and holds no personal
data (the services refuse CPR numbers and case references); each change is audited.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from . import consultations
from .consultation_forms import AnswerForm, ConsultationForm
from .roles import held_roles
from .ui import apply_errors, querystring_without

PAGE_SIZE = 20
# The list page shows two lists, each with its own page number in the query string.
PAGE_PARAM_TO_ME = "side"
PAGE_PARAM_MINE = "egne"


def _require_role(user) -> None:
    if not held_roles(user):
        raise PermissionDenied(_("Sparring er for medarbejdere med en rolle i samarbejdet."))


@login_required
@require_http_methods(["GET", "HEAD"])
def consultation_list(request):
    user = request.user
    _require_role(user)
    to_me = Paginator(consultations.consultations_to(user), PAGE_SIZE).get_page(
        request.GET.get(PAGE_PARAM_TO_ME)
    )
    mine = Paginator(consultations.consultations_asked_by(user), PAGE_SIZE).get_page(
        request.GET.get(PAGE_PARAM_MINE)
    )
    context = {
        "answers": consultations.answers_consultations(user),
        "to_me": to_me,
        "mine": mine,
        "param_to_me": PAGE_PARAM_TO_ME,
        "param_mine": PAGE_PARAM_MINE,
        "querystring_to_me": querystring_without(request, PAGE_PARAM_TO_ME),
        "querystring_mine": querystring_without(request, PAGE_PARAM_MINE),
    }
    return render(request, "consultations/list.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def ask(request):
    _require_role(request.user)
    form = ConsultationForm(
        request.POST if request.method == "POST" else None,
        recipients=consultations.recipients_for(request.user),
    )
    if request.method == "POST" and form.is_valid():
        kind, organisation = form.recipient_choice()
        try:
            consultation = consultations.ask(
                actor=request.user,
                to_kind=kind,
                organisation=organisation,
                question=form.cleaned_data["question"],
                request=request,
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Dit spørgsmål er sendt."))
            return redirect(consultation)
    return render(request, "consultations/ask.html", {"form": form})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def detail(request, pk: int):
    """The question and its answer; for whoever may answer it, the answer form (a POST here
    answers)."""
    consultation = consultations.get_consultation_for(request.user, pk)
    may_answer = consultations.may_answer(request.user, consultation)
    form = None
    if request.method == "POST":
        if not may_answer:
            raise PermissionDenied(_("Du kan ikke besvare denne sparring."))
        form = AnswerForm(request.POST)
        if form.is_valid():
            try:
                consultations.answer(
                    actor=request.user,
                    consultation=consultation,
                    answer=form.cleaned_data["answer"],
                    request=request,
                )
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, _("Dit svar er sendt."))
                return redirect(consultation)
    elif may_answer:
        form = AnswerForm()
    context = {
        "consultation": consultation,
        "form": form,
        "is_asker": consultation.asked_by_id == request.user.pk,
        "may_withdraw": consultations.may_withdraw(request.user, consultation),
    }
    return render(request, "consultations/detail.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def withdraw(request, pk: int):
    """ "Er du sikker?" on a GET; the POST takes the question back."""
    consultation = consultations.get_consultation_for(request.user, pk)
    if not consultations.may_withdraw(request.user, consultation):
        raise PermissionDenied(_("Du kan ikke trække denne sparring tilbage."))
    if request.method == "POST":
        try:
            consultations.withdraw(actor=request.user, consultation=consultation, request=request)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Dit spørgsmål er trukket tilbage."))
        return redirect(consultation)
    return render(request, "consultations/withdraw_confirm.html", {"consultation": consultation})
