"""Which pages each demo role reaches, worked out from the data and the access rules.

The journey is derived, not hard-coded: every case the user can see (cases.access), each form
the user may open on those cases (once per role: the same template on another case adds
nothing), every referral waiting for the user's answer, the lists with filters and a page 2.
A page added later shows up here when its action or list is added to the maps below.
"""

import warnings
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders
from django.urls import reverse

from cases import selectors, services
from cases.access import (
    Action,
    Level,
    allowed_actions,
    cases_visible_to,
    level_for,
    visible_scopes,
)
from cases.models import ONWARD_KINDS, ConsentPartner, ConsentScope
from cases.views import PAGE_SIZE
from cooperation import consultations
from cooperation.models import Organisation, OrganisationKind, Role
from cooperation.roles import has_role, held_roles, municipalities_user_can_refer_to
from stalkingpakke import csv_import
from stalkingpakke.views import READABLE_TOOLS

from .conftest import FILLER_PREFIX

# The import page's sample file, uploaded to reach the import's preview.
SAMPLE_CSV = str(finders.find(csv_import.SAMPLE_PATH))

# The stalking package's forms on a case (stalkingpakke.urls "tool_form").
TOOL_FORMS = ["checklist", "assessment", "typology"]

# Presses the form's main button; forms are sent empty (or with the values in `select`).
SUBMIT = "main form.samvirke-form button.button-primary"


SEARCH = "form.samvirke-filters button[type=submit]"


def search(label: str, path: str, words: str) -> "Step":
    """A list's search box: it posts (names stay out of URLs) and comes back to the list."""
    return Step(label, path, submit=SEARCH, fill={"#id_q": words}, expect_errors=False)


@dataclass
class Step:
    label: str
    path: str
    submit: str | None = None  # press this to reach the form's error state
    fill: dict = field(default_factory=dict)  # fill(selector, text) before submit
    select: dict = field(default_factory=dict)  # select_option(selector, value) before submit
    files: dict = field(default_factory=dict)  # set_input_files(selector, path) before submit
    status: int = 200
    expect_errors: bool = True  # after submit: a refused form, focus on the error summary


def _forms_for(user, case, action: Action) -> list[Step]:
    ref = case.reference
    url = lambda name, *args: reverse(f"cases:{name}", args=[ref, *args])  # noqa: E731
    if action == "decline":  # declining an incoming referral (its own action since the rule split)
        return [Step("afvis henvisning (fejl)", url("decline_incoming"), submit=SUBMIT)]
    if action is Action.FORWARD:
        if services.forward_problem(case.referrals.all()):
            return []  # triaged before: nothing open to forward, and no button for it
        steps = [Step("videresend (fejl)", url("forward"), submit=SUBMIT)]
        target = selectors.forward_targets(case).first()
        if target is not None:
            # The confirmation that names the municipality (nothing is forwarded yet).
            steps.append(
                Step(
                    "videresend, bekræft",
                    url("forward"),
                    submit=SUBMIT,
                    select={"#id_municipality": target.code},
                    fill={"#id_comment": "Borgeren er flyttet dertil"},
                    expect_errors=False,
                )
            )
        return steps
    if action is Action.START_TRIAGE:
        return []  # a button on the case page (POST); the decline form is its sibling
    if action is Action.TRIAGE:
        return [Step("visitation (fejl)", url("triage"), submit=SUBMIT)]
    if action is Action.JOIN:
        other = selectors.possible_duplicates(case, user).first()
        return [Step("læg sammen", url("join", other.reference))] if other else []
    if action is Action.EDIT_PERSON:
        # The name emptied: refused, with what was typed kept.
        return [
            Step(
                "ret borgeroplysninger (fejl)",
                url("edit_person"),
                submit=SUBMIT,
                fill={"#id_full_name": ""},
            )
        ]
    if action is Action.ADD_NOTE:
        note = f"main form[action='{url('add_note')}'] button[type=submit]"
        return [Step("notat (fejl)", case.get_absolute_url(), submit=note)]
    if action is Action.MANAGE_CONSENT:
        steps = [Step("samtykke (fejl)", url("consent"), submit=SUBMIT)]
        consent = case.consents.filter(withdrawn_at__isnull=True).first()
        if consent:
            steps.append(Step("træk samtykke tilbage", url("withdraw_consent", consent.pk)))
        return steps
    if action is Action.CLOSE:
        # "Andet" without a comment is refused by the service: the error state, no closing.
        return [Step("luk sag (fejl)", url("close"), submit=SUBMIT, select={"#id_reason": "other"})]
    if action is Action.REOPEN:
        return [Step("genåbn (fejl)", url("reopen"), submit=SUBMIT)]
    if action is Action.DISQUALIFY:
        return [Step("inhabilitet (fejl)", url("disqualify"), submit=SUBMIT)]
    if action is Action.REASSIGN:
        # Sent without a choice: refused (the demo has a second coordinator to choose).
        return [Step("skift ansvarlig (fejl)", url("reassign"), submit=SUBMIT)]
    if action is Action.REFER_PARTNER:
        # The confirmation, for a partner the case can be referred to now (consent, not yet).
        consents, referrals = list(case.consents.all()), list(case.referrals.all())
        return [
            Step(f"henvis til {partner}", url("refer_partner", partner))
            for partner in ConsentPartner.values
            if not services.partner_referral_problem(partner, consents, referrals)
        ][:1]
    if action == "network_meeting":
        steps = [Step("netværksmøde (fejl)", url("network_meeting_create"), submit=SUBMIT)]
        meeting = case.network_meetings.first()
        if meeting:
            steps.append(Step("ret netværksmøde", url("network_meeting_edit", meeting.pk)))
        return steps
    if action is Action.REFER_ONWARD:
        return [Step("henvis videre (fejl)", url("refer_onward"), submit=SUBMIT)]
    if action is Action.RECORD_ONWARD_OUTCOME:
        # An onward referral still waiting for its answer, if the case has one.
        waiting = case.referrals.filter(
            kind__in=ONWARD_KINDS, status__in=list(services.ONWARD_TRANSITIONS)
        ).first()
        return (
            [
                Step(
                    "svar på henvisning videre (fejl)",
                    url("onward_outcome", waiting.pk),
                    submit=SUBMIT,
                )
            ]
            if waiting
            else []
        )
    if action == "edit_tools":  # the stalking package's tools on the case
        tools = lambda name, *args: reverse(f"stalkingpakke:{name}", args=[ref, *args])  # noqa: E731
        steps = [
            Step("logskema", tools("incident_log")),
            Step("logskema (fejl)", tools("incident_log"), submit=SUBMIT),
            Step("logskema, import", tools("import_csv")),
            Step("logskema, import (fejl)", tools("import_csv"), submit=SUBMIT),
            # The sample file: the preview of its rows (nothing is saved before "Ja, føj ...").
            Step(
                "logskema, import (kontrol)",
                tools("import_csv"),
                submit=SUBMIT,
                files={"#id_file": SAMPLE_CSV},
                expect_errors=False,
            ),
            Step("handleplan", tools("action_plan")),
            # An action item with "what" but no "who": listed in the summary at the top.
            Step(
                "handleplan (fejl)",
                tools("action_plan"),
                submit=SUBMIT,
                fill={"[name$='-what'] >> nth=-1": "Ring til borgeren"},
            ),
            *(Step(f"skema {kind}", tools("tool_form", kind)) for kind in TOOL_FORMS),
        ]
        entry = case.incidents.filter(superseded_by__isnull=True).first()
        if entry:
            steps += [
                Step(
                    "ret registrering (fejl)", tools("correct_entry", entry.sequence), submit=SUBMIT
                ),
                Step("bilag (fejl)", tools("add_attachment", entry.sequence), submit=SUBMIT),
            ]
        return steps
    # An action whose pages are still being built: say so loudly, but do not fail everyone's
    # run for it. Add its form (and error state) above when its view exists.
    warnings.warn(f"browser journey: no page listed for action {action!r}", stacklevel=2)
    return []


def _read_only_tools(case, scopes) -> list[Step]:
    tools = lambda name, *args: reverse(f"stalkingpakke:{name}", args=[case.reference, *args])  # noqa: E731
    steps = []
    if ConsentScope.INCIDENT_LOG in scopes:
        steps.append(Step("logskema (læseadgang)", tools("incident_log")))
    if ConsentScope.ACTION_PLAN in scopes:
        steps.append(Step("handleplan (læseadgang)", tools("action_plan")))
    if ConsentScope.SITUATION in scopes:
        steps.append(Step("skema (læseadgang)", tools("tool_form", TOOL_FORMS[0])))
    return steps


def journey(username: str) -> list[Step]:
    user = get_user_model().objects.get(username=username)
    steps = [Step("forside", "/")]

    if has_role(user, Role.VISITATOR):
        triage = reverse("cases:triage_dashboard")
        municipality = reverse("cases:municipality_cases")
        steps += [
            Step("visitation", triage),
            Step("visitation, filter", f"{triage}?state=referred&urgency=3&overdue=on"),
            Step("visitation, tomt filter", f"{triage}?state=in_triage&urgency=1&overdue=on"),
            search("visitation, søgning", triage, "findes-ikke"),
            Step("kommunens sager", municipality),
            Step("kommunens sager, lukkede", f"{municipality}?state=closed"),
            search("kommunens sager, søgning", municipality, "e"),
        ]
        if selectors.triage_queue(user).count() > PAGE_SIZE:
            steps.append(Step("visitation, side 2", f"{triage}?side=2"))
    if has_role(user, Role.COORDINATOR) or has_role(user, Role.VISITATOR):
        mine = reverse("cases:my_cases")
        steps += [
            Step("mine sager", mine),
            Step("mine sager, lukkede", f"{mine}?lukkede=1"),
            search("mine sager, søgning", mine, "e"),
        ]
        if selectors.my_cases(user).count() > PAGE_SIZE:
            steps.append(Step("mine sager, side 2", f"{mine}?side=2"))
    if has_role(user, Role.POLICE_CONTACT) or has_role(user, Role.DSC_ADVISOR):
        shared = reverse("cases:partner_cases")
        first = selectors.partner_cases(user).first()
        steps += [
            Step("delte sager", shared),
            search("delte sager, søgning", shared, first.reference if first else "x"),
            search("delte sager, tom søgning", shared, "findes-ikke"),
        ]
    if municipalities_user_can_refer_to(user).exists():
        referrals = reverse("cases:my_referrals")
        steps += [
            Step("mine henvisninger", referrals),
            Step("ny henvisning", reverse("cases:referral_create")),
            Step("ny henvisning (fejl)", reverse("cases:referral_create"), submit=SUBMIT),
        ]
        if selectors.referrals_made_by(user).count() > PAGE_SIZE:
            steps.append(Step("mine henvisninger, side 2", f"{referrals}?side=2"))
    if has_role(user, Role.FOLLOW_UP):
        steps.append(Step("statistik", reverse("statistics")))
    if held_roles(user):
        steps.append(Step("stalkingpakken", reverse("stalkingpakke:index")))
        steps += [
            Step(f"stalkingpakken, {kind}", reverse("stalkingpakke:tool", args=[kind]))
            for kind in READABLE_TOOLS
        ]
    if held_roles(user):
        # Consultations (sparring): the list, the form and its error state; a question that
        # waits for the user's answer, with the answer form and its error state; the user's
        # own newest question, and the confirmation to take it back while it is open.
        sparring, ask = reverse("consultations:list"), reverse("consultations:ask")
        steps += [
            Step("sparring", sparring),
            Step("ny sparring", ask),
            Step("ny sparring (fejl)", ask, submit=SUBMIT),
        ]
        waiting = consultations.consultations_for_answering(user).first()
        if waiting is not None:
            steps += [
                Step("besvar sparring", waiting.get_absolute_url()),
                Step("besvar sparring (fejl)", waiting.get_absolute_url(), submit=SUBMIT),
            ]
        answered = consultations.consultations_to(user).filter(status="answered").first()
        if answered is not None:
            steps.append(Step("besvaret sparring", answered.get_absolute_url()))
        own = consultations.consultations_asked_by(user).first()
        if own is not None:
            steps.append(Step("egen sparring", own.get_absolute_url()))
            if consultations.may_withdraw(user, own):
                withdraw = reverse("consultations:withdraw", args=[own.pk])
                steps.append(Step("træk sparring tilbage", withdraw))
    steps += [
        Step("kontakter", reverse("directory")),
        Step("tilgængelighedserklæring", reverse("accessibility")),
    ]

    # The filler referrals look like the demo's referred case: nothing new to check there.
    cases = cases_visible_to(user).exclude(full_name__startswith=FILLER_PREFIX).order_by("pk")
    done: set[Action] = set()
    read_only_tools_seen = False
    for case in cases:
        steps.append(Step(f"sag {case.reference}", case.get_absolute_url()))
        actions = allowed_actions(user, case)
        if case.cpr_encrypted and "cpr" not in done and "manage_consent" in actions:
            # The page that shows the full CPR number (reached by a POST from the case page).
            reveal = (
                f"main form[action='{reverse('cases:reveal_cpr', args=[case.reference])}'] button"
            )
            steps.append(
                Step("cpr-nummer vist", case.get_absolute_url(), submit=reveal, expect_errors=False)
            )
            done.add("cpr")
        if "subject_access" not in done and level_for(user, case) == Level.FULL:
            # The citizen's copy (right of access): its page once; the files are downloads.
            path = reverse("cases:subject_access:page", args=[case.reference])
            steps.append(Step("indsigt for borgeren", path))
            done.add("subject_access")
        for action in sorted(actions - done):
            new = _forms_for(user, case, action)
            if new:
                done.add(action)
                steps += new
        if "edit_tools" not in actions and not read_only_tools_seen:
            # A partner reads the tools the citizen consented to share, without editing.
            read_only = _read_only_tools(case, visible_scopes(user, case))
            read_only_tools_seen = bool(read_only)
            steps += read_only

    answered_once = False
    for referral in selectors.referrals_waiting_for(user):
        path = reverse("cases:respond", args=[referral.case.reference, referral.pk])
        steps.append(Step(f"besvar henvisning {referral.case.reference}", path))
        if not answered_once:
            decline = "main form.samvirke-form:has(input[value=decline]) button[type=submit]"
            steps.append(Step("afvis henvisning til mig (fejl)", path, submit=decline))
            answered_once = True

    if user.is_superuser:
        audit = reverse("audit:search")
        steps += [
            Step("revisionsspor", audit),
            Step("revisionsspor, filter", f"{audit}?person=visitator&flagged_only=on"),
            Step("revisionsspor, fejl", f"{audit}?date_from=ikke-en-dato"),
            Step("til gennemsyn", reverse("audit:review")),
            Step("sletning", reverse("retention:overview")),
        ]
        municipality = Organisation.objects.filter(kind=OrganisationKind.MUNICIPALITY).first()
        if municipality is not None:
            args = [municipality.pk]
            steps.append(Step("sletning, kommune", reverse("retention:municipality", args=args)))
            # The demo has a case past the rule, so the confirmation step has a count to show.
            steps.append(Step("sletning, bekræft", reverse("retention:confirm", args=args)))
    if username in ("forstekontakt", "admin"):
        # The error pages, once: nobody but a lost user sees them.
        steps += [
            Step("ingen adgang", reverse("statistics"), status=403),
            Step("findes ikke", "/sager/FINDES-IKKE/", status=404),
        ]
    return steps


def anonymous_journey() -> list[Step]:
    login = reverse("login")
    return [
        Step("log ind", login),
        Step(
            "log ind, forkert adgangskode",
            login,
            submit=SUBMIT,
            fill={"#id_username": "visitator", "#id_password": "forkert"},
        ),
        Step("tilgængelighedserklæring", reverse("accessibility")),
    ]
