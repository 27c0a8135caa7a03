"""The cooperation model: who takes part, in which role, and how to reach them."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OrganisationKind(models.TextChoices):
    MUNICIPALITY = "municipality", _("Kommune")
    POLICE = "police", _("Politikreds")
    DSC = "dsc", _("Dansk Stalking Center")
    OTHER = "other", _("Anden")


class Organisation(models.Model):
    name = models.CharField(_("navn"), max_length=200, unique=True)
    kind = models.CharField(_("type"), max_length=20, choices=OrganisationKind.choices)
    code = models.CharField(
        _("kode"),
        max_length=5,
        unique=True,
        help_text=_("Bruges i sagsnumre, fx ESB i ESB-2026-0042."),
    )
    police_district = models.ForeignKey(
        "self",
        verbose_name=_("politikreds"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="municipalities",
        limit_choices_to={"kind": OrganisationKind.POLICE},
        help_text=_("For kommuner: den politikreds, kommunen samarbejder med."),
    )
    triage_working_days = models.PositiveSmallIntegerField(
        _("frist for visitation (arbejdsdage)"),
        null=True,
        blank=True,
        help_text=_("Tom: standarden for hele installationen (5 arbejdsdage)."),
    )
    # One number for the function, whoever answers it: the acute referral's advice names it
    # instead of the visitator and deputy, so the advice never depends on the case (leaving
    # out a visitator disqualified on the person told the referrer that she has a case).
    visitation_phone = models.CharField(
        _("stalkingvisitationens telefon"),
        max_length=40,
        blank=True,
        help_text=_(
            "For kommuner: et fast nummer, der altid når stalkingvisitator eller "
            "stedfortræder. Står i rådet til den, der sender en akut henvisning. Tom: rådet "
            "nævner visitator og stedfortræder med deres numre."
        ),
    )
    retention_years = models.PositiveSmallIntegerField(
        _("opbevaring efter lukning (år)"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_(
            "Gælder kommuner: så mange hele år efter, at en sag er lukket, gemmes den med "
            "personoplysninger. Derefter kan en administrator bekræfte, at sagen anonymiseres. "
            "Sagsnummer, datoer og kategorier bliver stående til statistikken."
        ),
    )

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisationer")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(retention_years__gte=1), name="organisation_retention_at_least_a_year"
            )
        ]

    def __str__(self):
        return self.name

    @property
    def triage_days(self) -> int:
        return self.triage_working_days or settings.DEFAULT_TRIAGE_WORKING_DAYS


class Unit(models.Model):
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="units",
    )
    name = models.CharField(_("navn"), max_length=200)

    class Meta:
        verbose_name = _("enhed")
        verbose_name_plural = _("enheder")
        ordering = ["organisation__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="unit_unique_name")
        ]

    def __str__(self):
        return f"{self.name} ({self.organisation.code})"


class Role(models.TextChoices):
    FIRST_CONTACT = "first_contact", _("Første kontakt")
    VISITATOR = "visitator", _("Stalkingvisitator")
    COORDINATOR = "coordinator", _("Primær koordinator")
    POLICE_CONTACT = "police_contact", _("Politiets kontaktperson")
    DSC_ADVISOR = "dsc_advisor", _("Rådgiver, Dansk Stalking Center")
    FOLLOW_UP = "follow_up", _("Følgegruppe")


# Which kind of organisation each role belongs to; checked when an assignment is saved.
ROLE_ORGANISATION_KIND = {
    Role.FIRST_CONTACT: OrganisationKind.MUNICIPALITY,
    Role.VISITATOR: OrganisationKind.MUNICIPALITY,
    Role.COORDINATOR: OrganisationKind.MUNICIPALITY,
    Role.POLICE_CONTACT: OrganisationKind.POLICE,
    Role.DSC_ADVISOR: OrganisationKind.DSC,
}


class RoleAssignmentQuerySet(models.QuerySet):
    def not_ended(self, on=None):
        """Held today or from a later date."""
        today = on or timezone.localdate()
        return self.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=today))

    def current(self, on=None):
        today = on or timezone.localdate()
        return self.not_ended(today).filter(valid_from__lte=today)


class RoleAssignment(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("bruger"),
        on_delete=models.CASCADE,
        related_name="role_assignments",
    )
    role = models.CharField(_("rolle"), max_length=20, choices=Role.choices)
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="role_assignments",
    )
    unit = models.ForeignKey(
        Unit,
        verbose_name=_("enhed"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="role_assignments",
    )
    is_deputy = models.BooleanField(_("stedfortræder"), default=False)
    phone = models.CharField(_("telefon"), max_length=30, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    valid_from = models.DateField(_("gyldig fra"), default=timezone.localdate)
    valid_to = models.DateField(_("gyldig til"), null=True, blank=True)

    objects = RoleAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("rolletildeling")
        verbose_name_plural = _("rolletildelinger")
        ordering = ["organisation__name", "role", "is_deputy"]
        indexes = [
            models.Index(fields=["user", "role"]),
            models.Index(fields=["organisation", "role"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="role_assignment_period_valid",
            )
        ]

    def __str__(self):
        deputy = f" ({_('stedfortræder')})" if self.is_deputy else ""
        return f"{self.get_role_display()}{deputy}, {self.organisation.code}: {self.user}"


# --- Consultation (sparring) -----------------------------------------------------------------

# Long enough for a situation described in a few paragraphs, short enough to stay a question.
CONSULTATION_QUESTION_MAX_LENGTH = 3000
CONSULTATION_ANSWER_MAX_LENGTH = 6000


class ConsultationKind(models.TextChoices):
    """Whom a consultation asks: a municipality's stalking visitators, or DSC's advisors."""

    VISITATOR = "visitator", _("Kommunens stalkingvisitator")
    DSC = "dsc", _("Dansk Stalking Center")


class ConsultationStatus(models.TextChoices):
    OPEN = "open", _("Venter på svar")
    ANSWERED = "answered", _("Besvaret")
    WITHDRAWN = "withdrawn", _("Trukket tilbage")


class Consultation(models.Model):
    """A professional's question to colleagues (sparring). It carries no personal data and
    is never linked to a case: cooperation.consultations refuses text that looks like a CPR
    number or a case reference. Every change goes through cooperation.consultations."""

    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("spurgt af"),
        on_delete=models.PROTECT,
        related_name="consultations_asked",
    )
    from_organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("fra organisation"),
        on_delete=models.PROTECT,
        related_name="consultations_asked",
    )
    kind = models.CharField(_("til"), max_length=20, choices=ConsultationKind.choices)
    to_organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("til organisation"),
        on_delete=models.PROTECT,
        related_name="consultations_received",
    )
    question = models.TextField(_("spørgsmål"), max_length=CONSULTATION_QUESTION_MAX_LENGTH)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=ConsultationStatus.choices,
        default=ConsultationStatus.OPEN,
    )
    answer = models.TextField(_("svar"), max_length=CONSULTATION_ANSWER_MAX_LENGTH, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("besvaret af"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="consultations_answered",
    )
    asked_at = models.DateTimeField(_("spurgt"), default=timezone.now)
    answered_at = models.DateTimeField(_("besvaret"), null=True, blank=True)

    class Meta:
        verbose_name = _("sparring")
        verbose_name_plural = _("sparringer")
        ordering = ["-asked_at", "-id"]
        indexes = [
            # The answerers' list and the dashboard count: open ones to my organisation.
            models.Index(
                fields=["to_organisation", "status", "asked_at"], name="consultation_inbox"
            ),
            # The asker's list: my questions, newest first.
            models.Index(fields=["asked_by", "-asked_at"], name="consultation_by_asker"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ConsultationKind.values), name="consultation_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ConsultationStatus.values),
                name="consultation_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(question=""), name="consultation_question_not_empty"
            ),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("question"), CONSULTATION_QUESTION_MAX_LENGTH)
                & LessThanOrEqual(Length("answer"), CONSULTATION_ANSWER_MAX_LENGTH),
                name="consultation_text_not_too_long",
            ),
            # Answered: with an answer, who gave it and when. Otherwise: none of the three.
            models.CheckConstraint(
                condition=(
                    Q(status=ConsultationStatus.ANSWERED)
                    & ~Q(answer="")
                    & Q(answered_by__isnull=False)
                    & Q(answered_at__isnull=False)
                )
                | (
                    ~Q(status=ConsultationStatus.ANSWERED)
                    & Q(answer="")
                    & Q(answered_by__isnull=True)
                    & Q(answered_at__isnull=True)
                ),
                name="consultation_answered_has_answer",
            ),
        ]

    def __str__(self):
        # Never the question: it is free text, and the admin and logs show __str__.
        return f"{_('Sparring')} {self.pk} ({self.get_kind_display()}, {self.get_status_display()})"

    def get_absolute_url(self):
        return reverse("consultations:detail", kwargs={"pk": self.pk})
