"""Cases of people exposed to stalking, their referrals, consents, notes and history.

Models hold data and absolute rules (constraints); every change goes through cases.services.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from cooperation.models import Organisation

from .cpr import mask_cpr


class CaseState(models.TextChoices):
    REFERRED = "referred", _("Henvist")
    IN_TRIAGE = "in_triage", _("Under visitation")
    ACTIVE = "active", _("Aktiv")
    CLOSED = "closed", _("Lukket")


class ClosingReason(models.TextChoices):
    NOT_STALKING = "not_stalking", _("Ikke stalking (rådgivet)")
    RESOLVED = "resolved", _("Afsluttet, forløbet er slut")
    MOVED_AWAY = "moved_away", _("Borgeren er flyttet")
    CITIZEN_DECLINED = "citizen_declined", _("Borgeren ønsker ikke hjælp")
    TRANSFERRED = "transferred", _("Overdraget til anden myndighed")
    MERGED = "merged", _("Lagt sammen med en anden sag")
    OTHER = "other", _("Andet")


class PersonKind(models.TextChoices):
    CITIZEN = "citizen", _("Borger")
    EMPLOYEE = "employee", _("Ansat i kommunen")


class Relation(models.TextChoices):
    EX_PARTNER = "ex_partner", _("Tidligere partner")
    FAMILY = "family", _("Familie")
    COLLEAGUE = "colleague", _("Kollega")
    CITIZEN_TO_EMPLOYEE = "citizen_to_employee", _("Borger, der stalker en ansat")
    ACQUAINTANCE = "acquaintance", _("Bekendt")
    NEIGHBOUR = "neighbour", _("Nabo")
    STRANGER = "stranger", _("Fremmed")
    UNKNOWN = "unknown", _("Ukendt")
    OTHER = "other", _("Andet")


class YesNoUnknown(models.TextChoices):
    YES = "yes", _("Ja")
    NO = "no", _("Nej")
    UNKNOWN = "unknown", _("Ved ikke")


class Urgency(models.IntegerChoices):
    # Higher sorts first on the visitator's dashboard.
    NORMAL = 1, _("Almindelig")
    HIGH = 2, _("Haster")
    ACUTE = 3, _("Akut, borgeren er i fare")


class ChildrenNotification(models.TextChoices):
    NOT_NEEDED = "not_needed", _("Ikke nødvendig")
    NEEDED = "needed", _("Nødvendig, underretning sendes")
    SENT = "sent", _("Underretning er sendt")


class Case(models.Model):
    reference = models.CharField(_("sagsnummer"), max_length=20, unique=True)
    municipality = models.ForeignKey(
        Organisation, verbose_name=_("kommune"), on_delete=models.PROTECT, related_name="cases"
    )
    state = models.CharField(
        _("status"), max_length=20, choices=CaseState.choices, default=CaseState.REFERRED
    )
    urgency = models.PositiveSmallIntegerField(
        _("hastegrad"), choices=Urgency.choices, default=Urgency.NORMAL
    )
    received_at = models.DateTimeField(_("modtaget"))
    triage_deadline = models.DateField(_("frist for visitation"))
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("ansvarlig"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="responsible_cases",
    )

    # The person exposed: only what the work needs.
    person_kind = models.CharField(
        _("den udsatte er"),
        max_length=20,
        choices=PersonKind.choices,
        default=PersonKind.CITIZEN,
    )
    full_name = models.CharField(_("navn"), max_length=200)
    cpr_encrypted = models.TextField(_("CPR-nummer (krypteret)"), blank=True, editable=False)
    cpr_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    cpr_last4 = models.CharField(max_length=4, blank=True, editable=False)
    birth_date = models.DateField(_("fødselsdato"), null=True, blank=True)
    safe_contact = models.CharField(
        _("sikker måde at kontakte borgeren på"),
        max_length=300,
        help_text=_("Fx et bestemt telefonnummer, kun sms, eller via en bestemt person."),
    )
    safe_contact_time = models.CharField(
        _("hvornår er det sikkert at kontakte"), max_length=200, blank=True
    )
    children_in_household = models.BooleanField(_("børn i husstanden"), default=False)
    relation = models.CharField(
        _("relation til den, der stalker"),
        max_length=30,
        choices=Relation.choices,
        default=Relation.UNKNOWN,
    )
    stalker_works_in_municipality = models.CharField(
        _("arbejder den, der stalker, i kommunen?"),
        max_length=10,
        choices=YesNoUnknown.choices,
        default=YesNoUnknown.UNKNOWN,
    )

    # Triage
    is_stalking = models.BooleanField(_("er der tale om stalking?"), null=True, blank=True)
    triage_reasoning = models.TextField(_("begrundelse"), blank=True)
    children_notification = models.CharField(
        _("underretning om børn"),
        max_length=20,
        choices=ChildrenNotification.choices,
        blank=True,
    )
    triaged_at = models.DateTimeField(_("visiteret"), null=True, blank=True)

    closing_reason = models.CharField(
        _("årsag til lukning"), max_length=30, choices=ClosingReason.choices, blank=True
    )
    closing_comment = models.TextField(_("kommentar til lukning"), blank=True)
    closed_at = models.DateTimeField(_("lukket"), null=True, blank=True)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("lagt sammen med"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_cases",
    )

    # Set when the retention rule has removed the personal data (cases.retention); the row
    # stays for statistics with its reference, municipality, state, dates and categories.
    anonymised_at = models.DateTimeField(_("anonymiseret"), null=True, blank=True, editable=False)

    # Optimistic locking: every service that changes the case bumps it.
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("sag")
        verbose_name_plural = _("sager")
        ordering = ["-received_at"]
        indexes = [
            # The triage queue and its state counts; with the id included the counts are read
            # from the index alone, without visiting the table (on PostgreSQL).
            models.Index(
                fields=["municipality", "state", "-urgency", "triage_deadline"],
                include=["id"],
                name="case_triage_queue",
            ),
            models.Index(fields=["responsible", "state", "-received_at"], name="case_owner"),
            models.Index(Lower("full_name"), "birth_date", name="case_name_birth"),
            # The retention selector: closed, not yet anonymised cases of a municipality by
            # closing time. Partial, so it holds only the cases that can still fall due.
            models.Index(
                fields=["municipality", "closed_at"],
                condition=Q(state=CaseState.CLOSED, anonymised_at__isnull=True),
                name="case_retention_due",
            ),
        ]
        constraints = [
            # Nothing falls between two chairs: an open case always has one responsible person.
            models.CheckConstraint(
                condition=Q(state=CaseState.CLOSED) | Q(responsible__isnull=False),
                name="case_open_has_responsible",
            ),
            models.CheckConstraint(
                condition=~Q(state=CaseState.CLOSED) | ~Q(closing_reason=""),
                name="case_closed_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(state__in=CaseState.values), name="case_state_valid"
            ),
            # An anonymised case has nothing left to work on: it can never be open again.
            models.CheckConstraint(
                condition=Q(anonymised_at__isnull=True) | Q(state=CaseState.CLOSED),
                name="case_anonymised_is_closed",
            ),
        ]

    def __str__(self):
        # Never personal data: __str__ ends up in logs and admin messages.
        return self.reference

    def get_absolute_url(self):
        return reverse("cases:detail", kwargs={"reference": self.reference})

    @property
    def cpr_masked(self) -> str:
        return mask_cpr(self.cpr_last4) if self.cpr_last4 else ""

    @property
    def is_open(self) -> bool:
        return self.state != CaseState.CLOSED


class CaseSequence(models.Model):
    """Per municipality and year, the last number used in a case reference."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE)
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "year"], name="case_sequence_unique")
        ]

    def __str__(self):
        return f"{self.organisation.code}-{self.year}: {self.last_number}"


class CaseUserObjectPermission(UserObjectPermissionBase):
    """Direct foreign key, so filtering cases by grant stays an indexed join."""

    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)


class CaseGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)


class ReferralKind(models.TextChoices):
    TO_VISITATOR = "to_visitator", _("Til stalkingvisitator")
    TO_COORDINATOR = "to_coordinator", _("Til primær koordinator")
    TO_POLICE = "to_police", _("Til politiet")
    TO_DSC = "to_dsc", _("Til Dansk Stalking Center")
    # The coordinator's onward referrals: to a department of the municipality (a Unit) or to
    # an actor outside it (a crisis centre, victim counselling, a lawyer). The recipients do
    # not use Samvirke; the coordinator records the referral and what came of it.
    TO_UNIT = "to_unit", _("Til intern afdeling")
    TO_EXTERNAL = "to_external", _("Til ekstern aktør")


ONWARD_KINDS = (ReferralKind.TO_UNIT, ReferralKind.TO_EXTERNAL)


class ReferralStatus(models.TextChoices):
    SENT = "sent", _("Sendt")
    ACCEPTED = "accepted", _("Modtaget")
    DECLINED = "declined", _("Afvist")
    COMPLETED = "completed", _("Afsluttet")
    # The visitator sent it on to the municipality it belongs to (forwarded_as is the new one).
    FORWARDED = "forwarded", _("Videresendt")


class Referral(models.Model):
    case = models.ForeignKey(
        Case, verbose_name=_("sag"), on_delete=models.CASCADE, related_name="referrals"
    )
    kind = models.CharField(_("type"), max_length=20, choices=ReferralKind.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=ReferralStatus.choices, default=ReferralStatus.SENT
    )
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("henvist af"),
        on_delete=models.PROTECT,
        related_name="referrals_made",
    )
    from_organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("fra organisation"),
        on_delete=models.PROTECT,
        related_name="referrals_sent",
    )
    # The referrer's unit (job centre, school ...) when they refer as a first contact: where
    # referrals come from is one of the follow-up group's figures (cases.statistics).
    from_unit = models.ForeignKey(
        "cooperation.Unit",
        verbose_name=_("fra enhed"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    to_organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("til organisation"),
        on_delete=models.PROTECT,
        related_name="referrals_received",
    )
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("til"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referrals_received",
    )
    # An onward referral's recipient (ONWARD_KINDS): a department of the case's municipality,
    # or the name of an external actor (a place or a profession, not the citizen). For both,
    # to_organisation is the case's municipality, which keeps the referral.
    to_unit = models.ForeignKey(
        "cooperation.Unit",
        verbose_name=_("til afdeling"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="onward_referrals",
    )
    to_external = models.CharField(_("til ekstern aktør"), max_length=200, blank=True)
    reason = models.TextField(_("hvad drejer henvendelsen sig om?"), blank=True)
    decline_reason = models.TextField(_("begrundelse for afvisning"), blank=True)
    # The person's name as the case held it when the referral was made: what its sender
    # knew, shown in their "Mine henvisninger". A later correction (a new name taken to hide
    # from the person who stalks) must not reach everyone who ever referred them.
    person_name = models.CharField(_("navn ved henvisningen"), max_length=200, blank=True)
    # Likewise the reference of the case it was made on: a referral joined into the person's
    # earlier case moves there, and its referrer must not learn that the citizen already had
    # a case (nor its number and year).
    case_reference = models.CharField(_("sagsnummer ved henvisningen"), max_length=20, blank=True)
    created_at = models.DateTimeField(_("sendt"), auto_now_add=True)
    responded_at = models.DateTimeField(_("besvaret"), null=True, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # When the mail about the referral went out (cases.alerts): the acute alert to the
    # visitator and deputy, or the notice to the recipient of a referral to a coordinator, the
    # police or DSC. Empty while one is due: the referral row is the outbox.
    alerted_at = models.DateTimeField(_("varslet"), null=True, blank=True)
    # A misdirected referral the visitator forwarded to another municipality: the referral
    # to that municipality's visitator on the new case (services.forward_to_municipality).
    forwarded_as = models.OneToOneField(
        "self",
        verbose_name=_("videresendt som"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="forwarded_from",
    )

    class Meta:
        verbose_name = _("henvisning")
        verbose_name_plural = _("henvisninger")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["from_user", "-created_at"], name="referral_by_sender"),
            models.Index(fields=["to_organisation", "kind", "status"], name="referral_inbox"),
            # "Waiting for you" on every list page: the few sent ones among a user's many.
            models.Index(
                fields=["to_user", "-created_at"],
                condition=Q(status=ReferralStatus.SENT),
                name="referral_waiting_for_user",
            ),
            # The relay's look for referrals with a mail still due (cases.alerts).
            models.Index(
                fields=["created_at"],
                condition=Q(status=ReferralStatus.SENT, alerted_at__isnull=True),
                name="referral_alert_outbox",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=ReferralStatus.DECLINED) | ~Q(decline_reason=""),
                name="referral_declined_has_reason",
            ),
            # Exactly one recipient of the right kind: a unit for TO_UNIT, an external actor's
            # name for TO_EXTERNAL, and neither for the other kinds. An onward referral has no
            # recipient user (nobody answers it in Samvirke; the coordinator records it).
            models.CheckConstraint(
                condition=Q(
                    kind=ReferralKind.TO_UNIT,
                    to_unit__isnull=False,
                    to_external="",
                    to_user__isnull=True,
                )
                | (
                    Q(kind=ReferralKind.TO_EXTERNAL, to_unit__isnull=True, to_user__isnull=True)
                    & ~Q(to_external="")
                )
                | (~Q(kind__in=ONWARD_KINDS) & Q(to_unit__isnull=True, to_external="")),
                name="referral_onward_recipient",
            ),
        ]

    def __str__(self):
        return f"{self.case.reference}: {self.get_kind_display()}"

    def save(self, *args, **kwargs):
        if self._state.adding and not self.person_name:
            self.person_name = self.case.full_name
        if self._state.adding and not self.case_reference:
            self.case_reference = self.case.reference
        super().save(*args, **kwargs)

    @property
    def is_onward(self) -> bool:
        return self.kind in ONWARD_KINDS

    def _referrer_label(self, status: str) -> str:
        # A referral to the visitator is done when the visitator has handled it (triaged, or
        # joined into the citizen's case): "Afsluttet" read as if the case had ended while the
        # coordinator was working on it.
        if self.kind == ReferralKind.TO_VISITATOR and status == ReferralStatus.COMPLETED:
            return _("Visiteret")
        return ReferralStatus(status).label

    @property
    def status_for_referrer(self) -> str:
        """The status in words, the same in the referrer's list and on the case page."""
        return self._referrer_label(self.status)

    @property
    def status_while_marked(self) -> str:
        """The status value a referrer disqualified on the case reads once it was answered
        after their mark (selectors.referrals_made_by: answer_hidden): the steps every
        referral takes (sent, received, handled), never how it ended (declined with a reason,
        forwarded to where the person lives). A row that stopped, vanished or read unlike
        their other referrals would tell them they are marked, so the person has a case."""
        if self.status in (ReferralStatus.SENT, ReferralStatus.ACCEPTED):
            return self.status
        return ReferralStatus.COMPLETED

    @property
    def status_for_marked_referrer(self) -> str:
        """status_while_marked in the referrer's list's words."""
        return self._referrer_label(self.status_while_marked)

    @property
    def recipient_name(self) -> str:
        """Whom the referral went to, as the case page and the lists name it: the department
        or external actor of an onward referral, else the organisation."""
        if self.kind == ReferralKind.TO_UNIT:
            return self.to_unit.name
        if self.kind == ReferralKind.TO_EXTERNAL:
            return self.to_external
        return self.to_organisation.name


class ConsentPartner(models.TextChoices):
    POLICE = "police", _("Politiet")
    DSC = "dsc", _("Dansk Stalking Center")


class ConsentScope(models.TextChoices):
    CONTACT = "contact", _("Navn og sikker kontakt")
    SITUATION = "situation", _("Visitation og situationen")
    INCIDENT_LOG = "incident_log", _("Logskema")
    ACTION_PLAN = "action_plan", _("Handleplan")
    NOTES = "notes", _("Journalnotater")


class Consent(models.Model):
    case = models.ForeignKey(
        Case, verbose_name=_("sag"), on_delete=models.CASCADE, related_name="consents"
    )
    partner = models.CharField(_("modtager"), max_length=10, choices=ConsentPartner.choices)
    scope = models.CharField(_("oplysninger"), max_length=20, choices=ConsentScope.choices)
    given_at = models.DateTimeField(_("givet"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("registreret af"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    withdrawn_at = models.DateTimeField(_("trukket tilbage"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("samtykke")
        verbose_name_plural = _("samtykker")
        ordering = ["partner", "scope", "-given_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "partner", "scope"],
                condition=Q(withdrawn_at__isnull=True),
                name="consent_one_active_per_scope",
            )
        ]

    def __str__(self):
        return f"{self.case.reference}: {self.get_partner_display()} / {self.get_scope_display()}"

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None


class Note(models.Model):
    case = models.ForeignKey(
        Case, verbose_name=_("sag"), on_delete=models.CASCADE, related_name="notes"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("skrevet af"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    text = models.TextField(_("notat"))
    created_at = models.DateTimeField(_("skrevet"), auto_now_add=True)

    class Meta:
        verbose_name = _("journalnotat")
        verbose_name_plural = _("journalnotater")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["case", "-created_at"], name="note_by_case")]

    def __str__(self):
        return f"{self.case.reference}: {_('notat')} {self.pk}"


class NetworkMeeting(models.Model):
    """A network meeting (netværksmøde) the case's coordinator holds with the citizen and the
    professionals around them (police, DSC, job centre, family counselling, school, crisis
    centre ...), and what was agreed. A date after today is a meeting that is planned.

    Participants are written as roles and organisations, not as employees' names. Partners
    (police, DSC) read the meetings only within the citizen's consent to share journal notes
    (ConsentScope.NOTES): a meeting's record is part of the case's journal.
    """

    case = models.ForeignKey(
        Case, verbose_name=_("sag"), on_delete=models.CASCADE, related_name="network_meetings"
    )
    held_on = models.DateField(
        _("dato for mødet"),
        help_text=_(
            "Den dag, mødet blev holdt. En dato efter i dag betyder, at mødet er planlagt."
        ),
    )
    participants = models.TextField(
        _("deltagere"),
        help_text=_(
            "Skriv roller og organisationer, fx: borgeren, primær koordinator "
            "(Familierådgivningen), politiets kontaktperson, Krisecenteret. Skriv ikke "
            "medarbejderes navne; navne fra borgerens eget netværk kun, når det er nødvendigt."
        ),
    )
    purpose = models.TextField(_("formål og dagsorden"))
    agreements = models.TextField(
        _("aftaler"),
        blank=True,
        help_text=_("Hvem gør hvad, og hvornår. Skal udfyldes, når mødet er holdt."),
    )
    next_meeting = models.DateField(_("næste møde"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("registreret af"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("registreret"), auto_now_add=True)
    updated_at = models.DateTimeField(_("senest rettet"), auto_now=True)
    # Optimistic locking: every change bumps it; a save against an older number is refused.
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("netværksmøde")
        verbose_name_plural = _("netværksmøder")
        ordering = ["-held_on", "-pk"]
        indexes = [models.Index(fields=["case", "held_on"], name="network_meeting_by_case")]
        constraints = [
            models.CheckConstraint(
                condition=Q(next_meeting__isnull=True) | Q(next_meeting__gt=models.F("held_on")),
                name="network_meeting_next_after_held",
            )
        ]

    def __str__(self):
        # Never personal data: the reference and the date only.
        return f"{self.case.reference}: {_('netværksmøde')} {self.held_on:%Y-%m-%d}"

    @property
    def is_planned(self) -> bool:
        return self.held_on > timezone.localdate()


class EventKind(models.TextChoices):
    REFERRED = "referred", _("Henvist")
    TRIAGE_STARTED = "triage_started", _("Visitation påbegyndt")
    TRIAGED = "triaged", _("Visiteret")
    ROUTED = "routed", _("Henvist til koordinator, politi eller DSC")
    REFERRAL_ACCEPTED = "referral_accepted", _("Henvisning modtaget")
    REFERRAL_DECLINED = "referral_declined", _("Henvisning afvist")
    CONSENT_GIVEN = "consent_given", _("Samtykke givet")
    CONSENT_WITHDRAWN = "consent_withdrawn", _("Samtykke trukket tilbage")
    NOTE_ADDED = "note_added", _("Notat")
    CLOSED = "closed", _("Lukket")
    REOPENED = "reopened", _("Genåbnet")
    MERGED = "merged", _("Sammenlagt")
    DISQUALIFIED = "disqualified", _("Inhabilitet registreret")
    HANDOVER = "handover", _("Overdraget")
    NETWORK_MEETING = "network_meeting", _("Netværksmøde registreret")
    NETWORK_MEETING_CHANGED = "network_meeting_changed", _("Netværksmøde rettet")
    FORWARDED_OUT = "forwarded_out", _("Videresendt til anden kommune")
    FORWARDED_IN = "forwarded_in", _("Videresendt fra anden kommune")
    ONWARD_REFERRED = "onward_referred", _("Henvist til afdeling eller ekstern aktør")
    ONWARD_OUTCOME = "onward_outcome", _("Svar på henvisning registreret")
    PERSON_CHANGED = "person_changed", _("Oplysninger om borgeren rettet")


class CaseEvent(models.Model):
    """The case's own timeline, shown to the people on the case. Append-only."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=30, choices=EventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    summary = models.CharField(max_length=500, blank=True)
    note = models.ForeignKey(Note, on_delete=models.CASCADE, null=True, blank=True)
    consent_scope = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("hændelse")
        verbose_name_plural = _("hændelser")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["case", "-created_at"], name="event_by_case")]

    def __str__(self):
        return f"{self.case.reference}: {self.get_kind_display()}"


class Disqualification(models.Model):
    """A user who must not see the case (inhabil), e.g. the person who stalks."""

    case = models.ForeignKey(
        Case, verbose_name=_("sag"), on_delete=models.CASCADE, related_name="disqualifications"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("bruger"),
        on_delete=models.CASCADE,
        related_name="disqualifications",
    )
    reason = models.CharField(_("begrundelse"), max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("inhabilitet")
        verbose_name_plural = _("inhabiliteter")
        constraints = [
            models.UniqueConstraint(fields=["case", "user"], name="disqualification_unique")
        ]

    def __str__(self):
        return f"{self.case.reference}: {self.user}"


class NoticeKind(models.TextChoices):
    REFERRAL_JOINED = "referral_joined", _("Ny henvisning lagt sammen med sagen")
    HANDED_AWAY = "handed_away", _("Sagen er givet til en anden koordinator")


class CaseNotice(models.Model):
    """A mail due to a coordinator about something that happened to their case without
    them (cases.alerts): a new referral about the citizen joined into it at triage (to the
    case's responsible), or the case handed to another coordinator (to the former one,
    `to_user`). The row is the outbox: `sent_at` is empty until the mail went out (or nobody
    could be mailed)."""

    case = models.ForeignKey(
        Case, verbose_name=_("sag"), on_delete=models.CASCADE, related_name="notices"
    )
    kind = models.CharField(_("slags"), max_length=30, choices=NoticeKind.choices)
    # Empty: the case's responsible when the mail goes out (REFERRAL_JOINED).
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("modtager"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    created_at = models.DateTimeField(_("oprettet"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sendt"), null=True, blank=True)

    class Meta:
        verbose_name = _("besked til koordinatoren")
        verbose_name_plural = _("beskeder til koordinatoren")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(sent_at__isnull=True),
                name="case_notice_outbox",
            )
        ]

    def __str__(self):
        return f"{self.case.reference}: {self.get_kind_display()}"


class FlaggedAccessNotice(models.Model):
    """A mail that told the data protection officers how many audit entries were flagged for
    review in a period (cases.audit_notices): a disqualified user trying to open a case they
    are marked on may be the person who stalks, and must not wait for the next routine
    review. Each row is one mail; the next one starts where it ended."""

    # Unique: two runs at once both start where the last mail ended; the second one's insert
    # fails before it mails (cases.audit_notices).
    covered_from = models.DateTimeField(_("fra"), unique=True)
    covered_until = models.DateTimeField(_("til"))
    count = models.PositiveIntegerField(_("antal markeringer"))
    sent_at = models.DateTimeField(_("sendt"), auto_now_add=True)

    class Meta:
        verbose_name = _("besked om markeret adgang")
        verbose_name_plural = _("beskeder om markeret adgang")
        ordering = ["-covered_until"]
        constraints = [
            models.CheckConstraint(
                condition=Q(covered_from__lt=F("covered_until")),
                name="flagged_notice_period_forward",
            )
        ]

    def __str__(self):
        return f"{self.covered_until:%Y-%m-%d %H:%M}: {self.count}"


class AuditAction(models.TextChoices):
    VIEW = "view", _("Læst")
    CHANGE = "change", _("Ændret")
    CREATE = "create", _("Oprettet")
    DOWNLOAD = "download", _("Hentet")
    DENIED = "denied", _("Adgang nægtet")
    ANONYMISE = "anonymise", _("Anonymiseret")
    DELETE = "delete", _("Slettet")


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("The audit trail is append-only.")

    def delete(self):
        raise PermissionError("The audit trail is append-only.")


class AuditEntry(models.Model):
    """Who read or changed what, when, from where and why. Append-only.

    Snapshots (username, reference) keep the entry readable if the user or case goes.
    On PostgreSQL a trigger also refuses UPDATE and DELETE (migration 0002).
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # DO_NOTHING without a database constraint: deleting a user or a case never rewrites
    # history (the PostgreSQL trigger would refuse it anyway); the snapshots stay readable.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        null=True,
        related_name="+",
        db_constraint=False,
    )
    username = models.CharField(max_length=150)
    role = models.CharField(max_length=30, blank=True)
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    case = models.ForeignKey(
        Case, on_delete=models.DO_NOTHING, null=True, related_name="+", db_constraint=False
    )
    case_reference = models.CharField(max_length=20, blank=True)
    what = models.CharField(max_length=100)
    object_id = models.CharField(max_length=40, blank=True)
    purpose = models.CharField(max_length=100, blank=True)
    path = models.CharField(max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    flagged = models.BooleanField(default=False)

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = _("revisionsspor")
        verbose_name_plural = _("revisionsspor")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["case", "-created_at"], name="audit_by_case"),
            models.Index(fields=["user", "-created_at"], name="audit_by_user"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.username} {self.action} {self.what}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("The audit trail is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The audit trail is append-only.")


class RetentionRunStatus(models.TextChoices):
    PENDING = "pending", _("Venter")
    RUNNING = "running", _("I gang")
    DONE = "done", _("Færdig")
    FAILED = "failed", _("Fejlet")


class RetentionRun(models.Model):
    """An administrator's confirmed decision to anonymise a municipality's closed cases that
    are past its retention period, and the report of what the task then did.

    The case ids are fixed when the administrator confirms; the task checks each case again
    (still closed, closed before the cutoff, not anonymised) before it touches it.
    """

    municipality = models.ForeignKey(
        Organisation,
        verbose_name=_("kommune"),
        on_delete=models.PROTECT,
        related_name="retention_runs",
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("bekræftet af"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(_("bekræftet"), default=timezone.now)
    retention_years = models.PositiveSmallIntegerField(_("opbevaring (år)"))
    cutoff = models.DateTimeField(_("lukket før"))
    case_ids = models.JSONField(_("sager (id)"), default=list)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=RetentionRunStatus.choices,
        default=RetentionRunStatus.PENDING,
    )
    started_at = models.DateTimeField(_("startet"), null=True, blank=True)
    finished_at = models.DateTimeField(_("færdig"), null=True, blank=True)
    cases_anonymised = models.PositiveIntegerField(_("sager anonymiseret"), default=0)
    cases_skipped = models.PositiveIntegerField(_("sager sprunget over"), default=0)
    cases_failed = models.PositiveIntegerField(_("sager fejlet"), default=0)
    notes_removed = models.PositiveIntegerField(_("journalnotater slettet"), default=0)
    entries_removed = models.PositiveIntegerField(_("logskema-registreringer slettet"), default=0)
    files_removed = models.PositiveIntegerField(_("filer slettet"), default=0)
    records_removed = models.PositiveIntegerField(
        _("andre poster slettet"),
        default=0,
        help_text=_(
            "Udfyldte skemaer, handleplaner med indsatser og udgaver, bilag, dokumenter, "
            "netværksmøder."
        ),
    )

    class Meta:
        verbose_name = _("sletning efter opbevaringsregel")
        verbose_name_plural = _("sletninger efter opbevaringsregel")
        ordering = ["-confirmed_at", "-pk"]
        permissions = [
            ("run_retention", _("Kan anonymisere lukkede sager efter opbevaringsreglen")),
        ]
        indexes = [
            models.Index(fields=["municipality", "-confirmed_at"], name="retention_run_by_org"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RetentionRunStatus.values), name="retention_status_valid"
            )
        ]

    def __str__(self):
        return f"{_('sletning')} {self.pk} ({self.municipality_id}, {self.status})"

    @property
    def case_count(self) -> int:
        return len(self.case_ids)

    @property
    def is_finished(self) -> bool:
        return self.status in (RetentionRunStatus.DONE, RetentionRunStatus.FAILED)


class RetentionOutcome(models.TextChoices):
    ANONYMISED = "anonymised", _("Anonymiseret")
    SKIPPED = "skipped", _("Sprunget over")
    FAILED = "failed", _("Fejlet")


class RetentionRunItem(models.Model):
    """What the run did with one case. Written in the same transaction as the case's
    anonymisation, so a task delivered twice finds it and neither redoes nor recounts it."""

    run = models.ForeignKey(RetentionRun, on_delete=models.CASCADE, related_name="items")
    # No database constraint: the item keeps the id even of a case that is gone.
    case = models.ForeignKey(
        Case, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    reference = models.CharField(_("sagsnummer"), max_length=20, blank=True)
    outcome = models.CharField(_("resultat"), max_length=12, choices=RetentionOutcome.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("sag i sletning")
        verbose_name_plural = _("sager i sletning")
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["run", "case"], name="retention_item_once_per_run")
        ]

    def __str__(self):
        return f"{self.reference or self.case_id}: {self.outcome}"
