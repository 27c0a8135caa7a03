"""The citizen's right of access (GDPR article 15, "indsigt"): everything Samvirke holds about
the person exposed on one case, collected into one plain structure from which both the PDF and
the machine-readable JSON file are made, so the two always say the same thing.

Rules the collection keeps:

- Employees appear as organisation and role (from their role assignments on the day in
  question), never by name or username: not as authors, not as readers, not in the summaries
  of timeline events that carry a name (routing to a named coordinator, handover).
- The CPR number is masked (xxxxxx-1234): the citizen knows it, and the file may travel.
- Who has looked: the reads of the case in the audit trail (page views and downloads),
  one line per day, organisation, role and purpose with a count, so thousands of reads stay
  readable.
- One query per kind of data, whatever the number of rows (tests/test_subject_access.py pins
  the count). Nothing here writes; the views write the audit entry of the export itself.

The JSON file (format "samvirke-indsigt", version 1; dates ISO 8601, times in Danish local
time with their UTC offset; keys are stable within a version, new keys may be added, a
changed meaning gets a new version):

    format, version, produced_at, produced_by {organisation, role, role_label}
    explanations {section: Danish text saying what the section is}
    case {reference, municipality, state, state_label, urgency, urgency_label, received_at,
          triage_deadline, responsible {organisation, role, role_label} | null,
          merged_into (reference) | null, anonymised_at | null}
    person {full_name, cpr_masked | null, birth_date | null, person_kind, person_kind_label,
            safe_contact, safe_contact_time, children_in_household, relation, relation_label,
            stalker_works_in_municipality, stalker_works_in_municipality_label}
    referrals [{kind, kind_label, status, status_label, sent_at, from {organisation, role,
               role_label}, to {organisation, role, role_label, department, external},
               reason, decline_reason, responded_at}]  (department, external: the recipient
               of a referral onward, to a unit of the municipality or an outside actor; "")
    consents [{partner, partner_label, scope, scope_label, given_at, recorded_by {...},
              withdrawn_at | null, withdrawn_by {...} | null, active}]
    triage {started_at, triaged_at, is_stalking, reasoning, children_notification,
            children_notification_label, routes [{kind, kind_label, to_organisation,
            to_role_label, status_label, sent_at}]} | null
    closing {closed_at, reason, reason_label, comment} | null
    notes [{written_at, author {...}, text}]
    network_meetings [{held_on, planned, participants, purpose, agreements, next_meeting,
                      recorded_at, recorded_by {...}, updated_at}]
    timeline [{at, kind, kind_label, actor {...}, summary}]
    forms [{tool, tool_label, tool_version, created_at, updated_at, created_by {...},
           sections [{heading, answers [{key, question, value, answer}]}]}]
    action_plan {goals, safety_measures, next_review, version, updated_at,
                 items [{who, what, deadline, status, status_label}],
                 revisions [{number, saved_at, saved_by {...}, contents {goals,
                 safety_measures, next_review, items [...]}}]} | null
    incident_log [{sequence, occurred_at, place, what_happened, behaviours [{key, label}],
                  witnesses, evidence, reported_to_police, police_journal_number, effect,
                  recorded_at, recorded_by {...}, corrects (sequence) | null,
                  correction_reason, corrected_by (sequence) | null,
                  attachments [{name, content_type, size, uploaded_at}]}]
    documents [{kind, kind_label, status, status_label, requested_at, finished_at, size,
               requested_by {...}}]
    access_log [{date, organisation, role, role_label, purpose, purpose_label,
                what [{key, label}], count}], access_log_total
    other_cases [{reference, relation, relation_label}]
"""

import datetime
import json
from collections import defaultdict

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from cooperation.models import OrganisationKind, Role, RoleAssignment

from .access import Level, cases_visible_to, hidden_events_for, is_visitator_for
from .audit_labels import purpose_label, what_label
from .audit_selectors import READ_ACTIONS
from .models import (
    ONWARD_KINDS,
    AuditEntry,
    Case,
    CaseState,
    ConsentPartner,
    EventKind,
    ReferralKind,
)

FORMAT = "samvirke-indsigt"
VERSION = 1

# What each section is, in words for the citizen. Shown on the page, in the PDF and in the
# JSON file ("explanations"), so all three describe the same sections.
EXPLANATIONS = {
    "person": (
        _("Dine oplysninger"),
        _(
            "De oplysninger om dig, som sagen bygger på, herunder hvordan og hvornår det er "
            "sikkert at kontakte dig. CPR-nummeret står kun med de sidste fire cifre."
        ),
    ),
    "case": (
        _("Sagen"),
        _(
            "Hvilken kommune der har sagen, hvornår den kom ind, hvor langt den er, og hvilken "
            "rolle den medarbejder har, der har ansvaret for den lige nu."
        ),
    ),
    "referrals": (
        _("Henvisninger"),
        _(
            "Hvem der har sendt sagen videre, og til hvem. Alle henvendelser om stalking går "
            "først til kommunens stalkingvisitator, som vurderer, hvem der bedst kan hjælpe."
        ),
    ),
    "consents": (
        _("Samtykker"),
        _(
            "Hvad du har sagt ja til, at kommunen må dele med politiet og Dansk Stalking Center, "
            "og hvornår. Du kan altid trække et samtykke tilbage; så stopper delingen."
        ),
    ),
    "triage": (
        _("Visitation"),
        _(
            "Stalkingvisitatorens vurdering af, om der er tale om stalking, begrundelsen for "
            "den, og hvem sagen derefter blev sendt videre til."
        ),
    ),
    "closing": (
        _("Lukning"),
        _("Hvornår og hvorfor sagen blev lukket."),
    ),
    "notes": (
        _("Journalnotater"),
        _("De notater, medarbejderne har skrevet i sagen, med dato og den skrivendes rolle."),
    ),
    "network_meetings": (
        _("Netværksmøder"),
        _(
            "Møder, hvor du og de fagfolk, der hjælper dig, har talt sammen om din situation: "
            "hvem der var med, hvad mødet handlede om, og hvad der blev aftalt. Et møde med en "
            "dato efter udskriften er planlagt."
        ),
    ),
    "timeline": (
        _("Forløb"),
        _("Alt, hvad der er sket i sagen, i den rækkefølge det skete."),
    ),
    "forms": (
        _("Udfyldte skemaer"),
        _(
            "Skemaer, der er udfyldt om din situation, fx tjeklisten »Er der tale om "
            "stalking?« og afdækningen af situationen, med alle svar."
        ),
    ),
    "action_plan": (
        _("Handleplan"),
        _(
            "Planen for, hvad der skal ske, hvem der gør det, og hvornår. Hver gang planen "
            "gemmes, bliver den tidligere udgave gemt; de er også med her."
        ),
    ),
    "incident_log": (
        _("Logskema"),
        _(
            "De hændelser, der er skrevet ind i logskemaet. Bliver en registrering rettet, "
            "gemmes rettelsen som en ny registrering, og den oprindelige bliver stående; "
            "begge er med her. Ved hver registrering står de bilag (fx skærmbilleder), der er "
            "gemt som beviser: navn, type, størrelse og dato. Selve filerne kan du bede om."
        ),
    ),
    "documents": (
        _("Dokumenter"),
        _(
            "PDF-dokumenter, der er lavet ud fra sagen, fx handleplanen eller logskemaet til "
            "politiet."
        ),
    ),
    "access_log": (
        _("Hvem har set din sag"),
        _(
            "Hver gang nogen åbner din sag, et skema, et dokument eller et bilag, bliver det "
            "registreret. Her er det samlet pr. dag, organisation, rolle og formål med antallet "
            "af gange. Medarbejdernes navne er ikke med; du kan spørge kommunen, hvis du vil "
            "vide mere."
        ),
    ),
    "other_cases": (
        _("Andre sager"),
        _(
            "Andre sager om dig i samme kommune: fundet ud fra dit CPR-nummer, eller fordi de "
            "er lagt sammen med denne sag. Kun sagsnumrene er med; du kan bede om indsigt i "
            "dem."
        ),
    ),
}

ROLE_ORDER = [
    Role.VISITATOR,
    Role.COORDINATOR,
    Role.POLICE_CONTACT,
    Role.DSC_ADVISOR,
    Role.FIRST_CONTACT,
    Role.FOLLOW_UP,
]

# The access route written as the purpose of a read (cases.access.access_route) and the role
# it implies.
PURPOSE_ROLE = {
    "visitator": Role.VISITATOR,
    "responsible": Role.COORDINATOR,
    "grant:coordinator": Role.COORDINATOR,
    "grant:police": Role.POLICE_CONTACT,
    "grant:dsc": Role.DSC_ADVISOR,
}
# What was read and the purpose are told in words from cases.audit_labels, the same words the
# data protection officer's pages use.

REFERRAL_TO_ROLE = {
    ReferralKind.TO_VISITATOR: Role.VISITATOR,
    ReferralKind.TO_COORDINATOR: Role.COORDINATOR,
    ReferralKind.TO_POLICE: Role.POLICE_CONTACT,
    ReferralKind.TO_DSC: Role.DSC_ADVISOR,
}
# Timeline events whose summary may name an employee (the coordinator a case was routed to,
# the successor in a handover): their summary is left out; what happened is in the kind, and
# where the case went is in the referrals.
SUMMARY_NAMES_EMPLOYEE = {EventKind.ROUTED, EventKind.HANDOVER}
OTHER_CASE_LABELS = {
    "same_cpr": _("Samme CPR-nummer"),
    "merged_into_this": _("Lagt sammen med denne sag"),
    "this_merged_into": _("Denne sag er lagt sammen med den"),
}
ANSWER_YES_NO = {"yes": _("Ja"), "no": _("Nej"), "unknown": _("Ved ikke")}


def _local_day(value) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return timezone.localdate(value)
    return value or timezone.localdate()


class _Actors:
    """Employees as organisation and role: one query for the role assignments of everyone
    who appears in the export, then chosen per appearance without further queries."""

    def __init__(self, case: Case, user_ids):
        self.case = case
        self.by_user = defaultdict(list)
        ids = {pk for pk in user_ids if pk}
        if ids:
            assignments = RoleAssignment.objects.filter(user_id__in=ids).select_related(
                "organisation"
            )
            for assignment in assignments:
                self.by_user[assignment.user_id].append(assignment)
        self.related = {case.municipality_id, case.municipality.police_district_id}

    def _on_case(self, assignment) -> bool:
        organisation = assignment.organisation
        return organisation.pk in self.related or organisation.kind == OrganisationKind.DSC

    def __call__(self, user_id, when=None, *, roles=(), organisation_id=None) -> dict | None:
        """The assignment that best explains the user's part on the case on that day:
        valid that day, in the given role and organisation, on one of the case's
        organisations, highest in the case flow. None when the user is unknown."""
        if not user_id:
            return None
        assignments = self.by_user.get(user_id, [])
        day = _local_day(when)
        candidates = [
            a
            for a in assignments
            if a.valid_from <= day and (a.valid_to is None or a.valid_to >= day)
        ] or assignments
        for keep in (
            lambda a: a.role in roles,
            lambda a: a.organisation_id == organisation_id,
            self._on_case,
        ):
            narrowed = [a for a in candidates if keep(a)]
            candidates = narrowed or candidates
        if not candidates:
            return {"organisation": "", "role": "", "role_label": str(_("Ukendt rolle"))}
        best = min(
            candidates,
            key=lambda a: (
                ROLE_ORDER.index(a.role) if a.role in ROLE_ORDER else len(ROLE_ORDER),
                a.is_deputy,
            ),
        )
        label = str(Role(best.role).label) if best.role in Role.values else best.role
        if best.is_deputy:
            label = f"{label} ({_('stedfortræder')})"
        return {"organisation": best.organisation.name, "role": best.role, "role_label": label}


def _text(value) -> str:
    from stalkingpakke.content import text

    return text(value, "da")


def _format_answer(field: dict, value) -> str:
    kind = field.get("type")
    if kind == "yesno" or (kind is None and value in ANSWER_YES_NO):
        return str(ANSWER_YES_NO.get(value, value))
    choices = {c.get("key"): _text(c.get("label")) for c in field.get("choices", [])}
    if kind == "multichoice" and isinstance(value, list):
        return ", ".join(choices.get(v, str(v)) for v in value)
    if kind == "choice":
        return choices.get(value, str(value))
    if kind == "date":
        try:
            return datetime.date.fromisoformat(str(value)[:10]).strftime("%d.%m.%Y")
        except ValueError:
            return str(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return str(_("Ja") if value else _("Nej"))
    return str(value)


def _form_questions(kind: str, content: dict) -> list[tuple[str, list[tuple[str, str, dict]]]]:
    """The form's questions as (heading, [(answer key, question, field)]) in the form's own
    order, from the tool version the form was filled against."""
    if kind == "checklist":
        questions = [
            (q["key"], _text(q.get("text")), {"type": "yesno"})
            for q in content.get("questions", [])
        ]
        return [("", questions)]
    if kind == "assessment":
        sections = [
            (
                _text(section.get("heading")),
                [(f["key"], _text(f.get("label")), f) for f in section.get("fields", [])],
            )
            for section in content.get("sections", [])
        ]
        risk = [
            (f"risk:{r['key']}", _text(r.get("text")), {"type": "yesno"})
            for r in content.get("risk_indicators", [])
        ]
        return [*sections, (str(_("Tegn på øget risiko")), risk)]
    if kind == "typology":
        types = [{"key": t.get("key"), "label": t.get("name")} for t in content.get("types", [])]
        return [
            (
                "",
                [
                    ("type", str(_("Type")), {"type": "choice", "choices": types}),
                    ("notes", str(_("Noter")), {"type": "text"}),
                ],
            )
        ]
    return [("", [])]


def _form_sections(form) -> list[dict]:
    answers = dict(form.answers or {})
    sections = []
    seen = set()
    for heading, questions in _form_questions(form.tool_version.kind, form.tool_version.content):
        rows = []
        for key, question, field in questions:
            seen.add(key)
            value = answers.get(key)
            if value in (None, "", []):
                continue
            rows.append(
                {
                    "key": key,
                    "question": question,
                    "value": value,
                    "answer": _format_answer(field, value),
                }
            )
        if rows:
            sections.append({"heading": heading, "answers": rows})
    # Answers to questions the content no longer has: still held, so still shown.
    rest = [
        {"key": key, "question": key, "value": value, "answer": _format_answer({}, value)}
        for key, value in sorted(answers.items())
        if key not in seen and value not in (None, "", [])
    ]
    if rest:
        sections.append({"heading": str(_("Andre svar")), "answers": rest})
    return sections


def _access_log(case: Case, rows, actors: _Actors) -> list[dict]:
    groups: dict[tuple, dict] = {}
    for row in rows:
        purpose = row["purpose"] or ""
        implied = PURPOSE_ROLE.get(purpose)
        roles = [implied] if implied else [code for code in row["role"].split(",") if code]
        actor = actors(
            row["user_id"],
            row["day"],
            roles=roles,
            organisation_id=case.municipality_id if purpose == "visitator" else None,
        ) or {"organisation": "", "role": "", "role_label": str(_("Ukendt rolle"))}
        key = (row["day"], actor["organisation"], actor["role_label"], purpose)
        group = groups.get(key)
        if group is None:
            group = groups[key] = {
                "date": row["day"],
                "organisation": actor["organisation"],
                "role": actor["role"],
                "role_label": actor["role_label"],
                "purpose": purpose,
                "purpose_label": purpose_label(purpose),
                "what": {},
                "count": 0,
            }
        group["count"] += row["count"]
        group["what"][row["what"]] = what_label(row["what"])
    result = sorted(
        groups.values(),
        key=lambda g: (-g["date"].toordinal(), g["organisation"], g["role_label"], g["purpose"]),
    )
    for group in result:
        group["what"] = [{"key": k, "label": v} for k, v in sorted(group["what"].items())]
    return result


def _snapshot_date(value):
    """A date kept as ISO text in a revision snapshot, as a date (the raw text if odd)."""
    try:
        return datetime.date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return value


def _revision_contents(snapshot: dict, statuses: dict) -> dict:
    return {
        "goals": snapshot.get("goals", ""),
        "safety_measures": snapshot.get("safety_measures", ""),
        "next_review": _snapshot_date(snapshot.get("next_review")),
        "items": [
            {
                "who": item.get("who", ""),
                "what": item.get("what", ""),
                "deadline": _snapshot_date(item.get("deadline")),
                "status": item.get("status", ""),
                "status_label": statuses.get(item.get("status"), item.get("status", "")),
            }
            for item in snapshot.get("items", [])
        ],
    }


def collect(case: Case, *, produced_by=None) -> dict:
    """Everything held about the person exposed on the case (see the module docstring for
    the structure). Danish labels whatever the request's language: the export is for the
    citizen. The case must come from cases_visible_to(user) with municipality joined."""
    with translation.override("da"):
        return _collect(case, produced_by)


def _collect(case: Case, produced_by) -> dict:
    from stalkingpakke.models import (
        ActionPlan,
        ActionStatus,
        Behaviour,
        DocumentStatus,
        ToolKind,
    )

    # One query per kind of data; every list is evaluated here, before anything is built.
    referrals = list(
        case.referrals.select_related("from_organisation", "to_organisation", "to_unit").order_by(
            "created_at", "pk"
        )
    )
    consents = list(case.consents.order_by("given_at", "pk"))
    notes = list(case.notes.order_by("created_at", "pk"))
    meetings = list(case.network_meetings.order_by("held_on", "pk"))
    events = case.events.order_by("created_at", "id")
    if produced_by is not None:
        # The events the producer's own case page hides stay out of the copy they make.
        visitator = is_visitator_for(produced_by, case)
        events = events.exclude(kind__in=hidden_events_for(Level.FULL, set(), visitator=visitator))
    events = list(events)
    forms = list(case.filled_forms.select_related("tool_version").order_by("created_at", "pk"))
    plan = (
        ActionPlan.objects.filter(case=case)
        .select_related("tool_version")
        .prefetch_related("items", "revisions")
        .first()
    )
    entries = list(case.incidents.prefetch_related("attachments").order_by("sequence"))
    documents = list(case.documents.order_by("requested_at", "pk"))
    reads = list(
        AuditEntry.objects.filter(case=case, action__in=READ_ACTIONS)
        .annotate(day=TruncDate("created_at"))
        .values("day", "user_id", "purpose", "role", "what")
        .annotate(count=Count("id"))
        .order_by()
    )
    related = Q(merged_into_id=case.pk)
    if case.merged_into_id:
        related |= Q(pk=case.merged_into_id)
    if case.cpr_index:
        related |= Q(municipality_id=case.municipality_id, cpr_index=case.cpr_index)
    others = Case.objects.filter(related).exclude(pk=case.pk)
    if produced_by is not None:
        # Only the cases the producer may open, so that the copy is no way round the case
        # page: a coordinator who typed another person's CPR number into her own case would
        # otherwise learn whether that person has a case here (fifth red-team review). The
        # visitator, who sees the municipality's cases, makes the complete copy.
        others = others.filter(pk__in=cases_visible_to(produced_by).values("pk"))
    others = list(
        others.order_by("received_at", "pk").values_list("pk", "reference", "merged_into_id")
    )

    user_ids = {case.responsible_id, getattr(produced_by, "pk", None)}
    user_ids |= {r.from_user_id for r in referrals} | {r.responded_by_id for r in referrals}
    user_ids |= {c.recorded_by_id for c in consents} | {c.withdrawn_by_id for c in consents}
    user_ids |= {n.author_id for n in notes} | {e.actor_id for e in events}
    user_ids |= {m.recorded_by_id for m in meetings}
    user_ids |= {f.created_by_id for f in forms} | {e.created_by_id for e in entries}
    user_ids |= {d.requested_by_id for d in documents} | {r["user_id"] for r in reads}
    if plan is not None:
        user_ids |= {r.created_by_id for r in plan.revisions.all()}
    actors = _Actors(case, user_ids)
    now = timezone.now()

    def to_party(referral):
        role = REFERRAL_TO_ROLE.get(referral.kind)
        return {
            "organisation": referral.to_organisation.name,
            "role": role or "",
            "role_label": str(Role(role).label) if role else "",
            "department": referral.to_unit.name if referral.to_unit_id else "",
            "external": referral.to_external,
        }

    def from_party(referral):
        actor = actors(
            referral.from_user_id,
            referral.created_at,
            organisation_id=referral.from_organisation_id,
        ) or {"role": "", "role_label": ""}
        return {
            "organisation": referral.from_organisation.name,
            "role": actor["role"],
            "role_label": actor["role_label"],
        }

    referral_rows = [
        {
            "kind": r.kind,
            "kind_label": r.get_kind_display(),
            "status": r.status,
            "status_label": r.get_status_display(),
            "sent_at": r.created_at,
            "from": from_party(r),
            "to": to_party(r),
            "reason": r.reason,
            "decline_reason": r.decline_reason,
            "responded_at": r.responded_at,
        }
        for r in referrals
    ]

    triage = None
    if case.triaged_at or any(e.kind == EventKind.TRIAGE_STARTED for e in events):
        started = next((e.created_at for e in events if e.kind == EventKind.TRIAGE_STARTED), None)
        triage = {
            "started_at": started,
            "triaged_at": case.triaged_at,
            "is_stalking": case.is_stalking,
            "reasoning": case.triage_reasoning,
            "children_notification": case.children_notification,
            "children_notification_label": case.get_children_notification_display()
            if case.children_notification
            else "",
            "routes": [
                {
                    "kind": row["kind"],
                    "kind_label": row["kind_label"],
                    "to_organisation": row["to"]["organisation"],
                    "to_role_label": row["to"]["role_label"],
                    "status_label": row["status_label"],
                    "sent_at": row["sent_at"],
                }
                for row in referral_rows
                # Where triage sent the case; not the referrals onward made while working on it.
                if row["kind"] not in (ReferralKind.TO_VISITATOR, *ONWARD_KINDS)
            ],
        }

    closing = None
    if case.state == CaseState.CLOSED:
        closing = {
            "closed_at": case.closed_at,
            "reason": case.closing_reason,
            "reason_label": case.get_closing_reason_display(),
            "comment": case.closing_comment,
        }

    action_plan = None
    if plan is not None:
        statuses = {key: str(label) for key, label in ActionStatus.choices}
        statuses.update(
            {
                c["key"]: _text(c.get("label"))
                for c in plan.tool_version.content.get("status_choices", [])
                if c.get("key")
            }
        )
        action_plan = {
            "goals": plan.goals,
            "safety_measures": plan.safety_measures,
            "next_review": plan.next_review,
            "version": plan.version,
            "updated_at": plan.updated_at,
            "items": [
                {
                    "who": item.who,
                    "what": item.what,
                    "deadline": item.deadline,
                    "status": item.status,
                    "status_label": statuses.get(item.status, item.status),
                }
                for item in plan.items.all()
            ],
            "revisions": [
                {
                    "number": revision.number,
                    "saved_at": revision.created_at,
                    "saved_by": actors(revision.created_by_id, revision.created_at),
                    "contents": _revision_contents(revision.snapshot or {}, statuses),
                }
                for revision in sorted(plan.revisions.all(), key=lambda r: r.number)
            ],
        }

    sequence_of = {entry.pk: entry.sequence for entry in entries}
    corrected_by = {e.supersedes_id: e.sequence for e in entries if e.supersedes_id}
    behaviour_labels = {key: str(label) for key, label in Behaviour.choices}
    document_statuses = {key: str(label) for key, label in DocumentStatus.choices}

    other_rows = []
    for pk, reference, merged_into_id in others:
        if merged_into_id == case.pk:
            relation = "merged_into_this"
        elif pk == case.merged_into_id:
            relation = "this_merged_into"
        else:
            relation = "same_cpr"
        other_rows.append(
            {
                "reference": reference,
                "relation": relation,
                "relation_label": str(OTHER_CASE_LABELS[relation]),
            }
        )
    merged_into = next(
        (row["reference"] for row in other_rows if row["relation"] == "this_merged_into"), None
    )

    access_log = _access_log(case, reads, actors)
    return {
        "format": FORMAT,
        "version": VERSION,
        "produced_at": now,
        "produced_by": actors(getattr(produced_by, "pk", None), now),
        "explanations": {
            key: {"title": str(title), "text": str(text)}
            for key, (title, text) in EXPLANATIONS.items()
        },
        "case": {
            "reference": case.reference,
            "municipality": case.municipality.name,
            "state": case.state,
            "state_label": case.get_state_display(),
            "urgency": case.urgency,
            "urgency_label": case.get_urgency_display(),
            "received_at": case.received_at,
            "triage_deadline": case.triage_deadline,
            "responsible": actors(case.responsible_id, now),
            "merged_into": merged_into,
            # Set when the retention rule has removed the personal data (cases.retention).
            "anonymised_at": getattr(case, "anonymised_at", None),
        },
        "person": {
            "full_name": case.full_name,
            "cpr_masked": case.cpr_masked or None,
            "birth_date": case.birth_date,
            "person_kind": case.person_kind,
            "person_kind_label": case.get_person_kind_display(),
            "safe_contact": case.safe_contact,
            "safe_contact_time": case.safe_contact_time,
            "children_in_household": case.children_in_household,
            "relation": case.relation,
            "relation_label": case.get_relation_display(),
            "stalker_works_in_municipality": case.stalker_works_in_municipality,
            "stalker_works_in_municipality_label": (
                case.get_stalker_works_in_municipality_display()
            ),
        },
        "referrals": referral_rows,
        "consents": [
            {
                "partner": c.partner,
                "partner_label": str(ConsentPartner(c.partner).label)
                if c.partner in ConsentPartner.values
                else c.partner,
                "scope": c.scope,
                "scope_label": c.get_scope_display(),
                "given_at": c.given_at,
                "recorded_by": actors(c.recorded_by_id, c.given_at),
                "withdrawn_at": c.withdrawn_at,
                "withdrawn_by": actors(c.withdrawn_by_id, c.withdrawn_at),
                "active": c.is_active,
            }
            for c in consents
        ],
        "triage": triage,
        "closing": closing,
        "notes": [
            {
                "written_at": n.created_at,
                "author": actors(n.author_id, n.created_at),
                "text": n.text,
            }
            for n in notes
        ],
        "network_meetings": [
            {
                "held_on": m.held_on,
                "planned": m.held_on > timezone.localdate(now),
                "participants": m.participants,
                "purpose": m.purpose,
                "agreements": m.agreements,
                "next_meeting": m.next_meeting,
                "recorded_at": m.recorded_at,
                "recorded_by": actors(m.recorded_by_id, m.recorded_at),
                "updated_at": m.updated_at,
            }
            for m in meetings
        ],
        "timeline": [
            {
                "at": e.created_at,
                "kind": e.kind,
                "kind_label": e.get_kind_display(),
                "actor": actors(e.actor_id, e.created_at),
                "summary": "" if e.kind in SUMMARY_NAMES_EMPLOYEE else e.summary,
            }
            for e in events
        ],
        "forms": [
            {
                "tool": f.tool_version.kind,
                "tool_label": _text(f.tool_version.content.get("title"))
                or str(ToolKind(f.tool_version.kind).label),
                "tool_version": f.tool_version.number,
                "created_at": f.created_at,
                "updated_at": f.updated_at,
                "created_by": actors(f.created_by_id, f.created_at),
                "sections": _form_sections(f),
            }
            for f in forms
        ],
        "action_plan": action_plan,
        "incident_log": [
            {
                "sequence": e.sequence,
                "occurred_at": e.occurred_at,
                "place": e.place,
                "what_happened": e.what_happened,
                "behaviours": [
                    {"key": key, "label": behaviour_labels.get(key, key)}
                    for key in e.behaviours or []
                ],
                "witnesses": e.witnesses,
                "evidence": e.evidence,
                "reported_to_police": e.reported_to_police,
                "police_journal_number": e.police_journal_number,
                "effect": e.effect,
                "recorded_at": e.created_at,
                "recorded_by": actors(e.created_by_id, e.created_at),
                "corrects": sequence_of.get(e.supersedes_id),
                "correction_reason": e.correction_reason,
                "corrected_by": corrected_by.get(e.pk),
                "attachments": [
                    {
                        "name": a.original_name,
                        "content_type": a.content_type,
                        "size": a.size,
                        "uploaded_at": a.created_at,
                    }
                    for a in sorted(e.attachments.all(), key=lambda a: (a.created_at, a.pk))
                ],
            }
            for e in entries
        ],
        "documents": [
            {
                "kind": d.kind,
                "kind_label": d.get_kind_display(),
                "status": d.status,
                "status_label": document_statuses.get(d.status, d.status),
                "requested_at": d.requested_at,
                "finished_at": d.finished_at,
                "size": d.size,
                "requested_by": actors(d.requested_by_id, d.requested_at),
            }
            for d in documents
        ],
        "access_log": access_log,
        "access_log_total": sum(row["count"] for row in access_log),
        "other_cases": other_rows,
    }


# -- the two files ------------------------------------------------------------------------


def _json_value(value):
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    if isinstance(value, datetime.date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(data: dict) -> bytes:
    """The JSON file: UTF-8, Danish letters as they are (ensure_ascii=False), indented for a
    person to read, keys in the documented order."""
    return json.dumps(data, default=_json_value, ensure_ascii=False, indent=2).encode("utf-8")


def to_pdf(data: dict) -> bytes:
    """The PDF (PDF/A, the project's fonts and stylesheet, made by stalkingpakke.pdf).

    Made by the Celery worker as a Document of kind SUBJECT_ACCESS (stalkingpakke.pdf.
    subject_access_pdf), not in the request: a case with a very long incident log (thousands
    of entries, hundreds of pages at WeasyPrint's ~80 ms a page) takes longer than the web
    server lets a request run. The stored file is deleted after
    SUBJECT_ACCESS_KEEP_HOURS (48 by default); the JSON file is made in the request."""
    from django.template.loader import render_to_string
    from django.utils.safestring import mark_safe

    from stalkingpakke.pdf import css_string, html_to_pdf

    reference = data["case"]["reference"]
    produced = timezone.localtime(data["produced_at"])
    context = {
        "data": data,
        "x": data["explanations"],
        "head_css": mark_safe(css_string(f"Indsigt · sag {reference}")),  # noqa: S308
        "date_css": mark_safe(  # noqa: S308 (escaped by css_string)
            css_string(f"Udskrevet {produced:%d.%m.%Y} kl. {produced:%H:%M}")
        ),
    }
    with translation.override("da"):
        html = render_to_string("subject_access/pdf.html", context)
    return html_to_pdf(html)


def filename(case: Case, extension: str) -> str:
    """The case reference and the day: no name, no CPR number."""
    return f"indsigt-{case.reference}-{timezone.localdate():%Y%m%d}.{extension}"
