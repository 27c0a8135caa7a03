"""The tools of the stalking package as versioned content, and what is filled in with them.

Tool texts are data (ToolVersion rows, edited in the admin, never changed in place); every
filled-in form points at the version it was filled against, so it reads as it was written.
The incident log is append-only and hash-chained.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cases.models import Case


class ToolKind(models.TextChoices):
    CHECKLIST = "checklist", _("Er der tale om stalking?")
    ADVICE = "advice", _("Gode råd til den udsatte")
    ASSESSMENT = "assessment", _("Afdækning af situationen")
    ACTION_PLAN = "action_plan", _("Handleplan")
    INCIDENT_LOG = "incident_log", _("Logskema")
    TYPOLOGY = "typology", _("Typer af stalking")
    CONVERSATION = "conversation", _("Samtale med en person, der stalker")
    REFERRAL_LIST = "referral_list", _("Henvisningsliste")


class ToolVersionQuerySet(models.QuerySet):
    def current(self, kind: str) -> "ToolVersion":
        return self.filter(kind=kind).order_by("-number").first()


class ToolVersion(models.Model):
    kind = models.CharField(_("værktøj"), max_length=20, choices=ToolKind.choices)
    number = models.PositiveIntegerField(_("version"))
    content = models.JSONField(_("indhold"))
    change_note = models.CharField(_("hvad er ændret"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ToolVersionQuerySet.as_manager()

    class Meta:
        verbose_name = _("værktøjsversion")
        verbose_name_plural = _("værktøjsversioner")
        ordering = ["kind", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "number"], name="tool_version_unique")
        ]

    def __str__(self):
        return f"{self.get_kind_display()} v{self.number}"


class FilledForm(models.Model):
    """A checklist, assessment or typology filled in on a case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="filled_forms")
    tool_version = models.ForeignKey(ToolVersion, on_delete=models.PROTECT, related_name="+")
    answers = models.JSONField(default=dict)
    # An assessment with a high-risk sign answered yes (risk_summary's "high"), set whenever it
    # is saved: the lists mark and filter such cases in their own query. It cannot go stale:
    # the tool version it was filled against never changes (an edit makes a new version).
    high_risk = models.BooleanField(_("høj risiko"), default=False, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("udfyldt skema")
        verbose_name_plural = _("udfyldte skemaer")
        indexes = [models.Index(fields=["case", "-created_at"], name="filledform_by_case")]

    def __str__(self):
        return f"{self.case.reference}: {self.tool_version}"


class ActionStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("Ikke startet")
    IN_PROGRESS = "in_progress", _("I gang")
    DONE = "done", _("Udført")
    DROPPED = "dropped", _("Opgivet")


class ActionPlan(models.Model):
    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="action_plan")
    tool_version = models.ForeignKey(ToolVersion, on_delete=models.PROTECT, related_name="+")
    goals = models.TextField(_("mål"), blank=True)
    safety_measures = models.TextField(_("sikkerhedsforanstaltninger"), blank=True)
    next_review = models.DateField(_("næste opfølgning"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("handleplan")
        verbose_name_plural = _("handleplaner")

    def __str__(self):
        return f"{self.case.reference}: {_('handleplan')}"


class ActionItem(models.Model):
    plan = models.ForeignKey(ActionPlan, on_delete=models.CASCADE, related_name="items")
    who = models.CharField(_("hvem"), max_length=200)
    what = models.TextField(_("hvad"))
    deadline = models.DateField(_("frist"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=ActionStatus.choices, default=ActionStatus.NOT_STARTED
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("indsats")
        verbose_name_plural = _("indsatser")
        ordering = ["position", "pk"]

    def __str__(self):
        # Not `who`: the title of the admin's page, which shows no case content.
        return f"{self.plan.case.reference}: {_('indsats')} {self.position + 1}"


class ActionPlanRevision(models.Model):
    """A snapshot of the plan as it was saved: the plan's history."""

    plan = models.ForeignKey(ActionPlan, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="plan_revision_unique")
        ]

    def __str__(self):
        return f"{self.plan.case.reference}: rev. {self.number}"


class Behaviour(models.TextChoices):
    CALLS = "calls", _("Opkald")
    MESSAGES = "messages", _("Beskeder, sms, mails")
    SOCIAL_MEDIA = "social_media", _("Sociale medier")
    FOLLOWING = "following", _("Forfølgelse")
    AT_HOME = "at_home", _("Dukker op ved hjemmet")
    AT_WORK = "at_work", _("Dukker op ved arbejde/skole")
    THROUGH_OTHERS = "through_others", _("Kontakt gennem andre")
    GIFTS = "gifts", _("Gaver og forsendelser")
    THREATS = "threats", _("Trusler")
    DAMAGE = "damage", _("Hærværk")
    TRACKING = "tracking", _("Overvågning, sporing")
    OTHER = "other", _("Andet")


class IncidentEntry(models.Model):
    """One row of the incident log. Never changed: a correction is a new row that supersedes
    the old one, and every row carries the hash of its content chained to the previous row."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="incidents")
    sequence = models.PositiveIntegerField()
    occurred_at = models.DateTimeField(_("dato og tid"))
    place = models.CharField(_("sted"), max_length=300, blank=True)
    what_happened = models.TextField(_("hvad skete der"))
    behaviours = models.JSONField(_("type adfærd"), default=list, blank=True)
    witnesses = models.CharField(_("vidner"), max_length=500, blank=True)
    evidence = models.CharField(_("gemte beviser"), max_length=500, blank=True)
    reported_to_police = models.BooleanField(_("anmeldt til politiet"), default=False)
    police_journal_number = models.CharField(_("journalnummer"), max_length=50, blank=True)
    effect = models.TextField(_("hvordan påvirkede det borgeren"), blank=True)
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )
    correction_reason = models.CharField(_("årsag til rettelse"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    previous_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("logskema-registrering")
        verbose_name_plural = _("logskema-registreringer")
        ordering = ["occurred_at", "sequence"]
        indexes = [models.Index(fields=["case", "occurred_at"], name="incident_by_time")]
        constraints = [
            models.UniqueConstraint(fields=["case", "sequence"], name="incident_sequence_unique")
        ]

    def __str__(self):
        return f"{self.case.reference} #{self.sequence}"

    @property
    def behaviour_labels(self) -> list[str]:
        return [str(Behaviour(key).label) for key in self.behaviours if key in Behaviour.values]


class Attachment(models.Model):
    entry = models.ForeignKey(IncidentEntry, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(upload_to="attachments/%Y/%m/")
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("bilag")
        verbose_name_plural = _("bilag")

    def __str__(self):
        return f"{self.entry}: {_('bilag')} {self.pk}"


class DocumentKind(models.TextChoices):
    ACTION_PLAN = "action_plan", _("Handleplan")
    INCIDENT_LOG = "incident_log", _("Logskema")
    ASSESSMENT = "assessment", _("Afdækning")
    ADVICE = "advice", _("Gode råd (folder)")
    # The citizen's copy of everything on the case (cases.subject_access): made by the same
    # worker as the tool documents, kept only
    # SUBJECT_ACCESS_KEEP_HOURS (a setting; stalkingpakke.tasks).
    SUBJECT_ACCESS = "subject_access", _("Indsigt til borgeren")


class DocumentStatus(models.TextChoices):
    PENDING = "pending", _("Bliver lavet")
    READY = "ready", _("Klar")
    FAILED = "failed", _("Fejlet")


def document_path(document, filename: str) -> str:
    """Per case and without a date: a run killed before its commit left its file exactly where
    the next run writes, so the next run finds and replaces it (stalkingpakke.tasks._finish)."""
    return f"documents/{document.case_id}/{filename}"


class Document(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=20, choices=DocumentKind.choices)
    status = models.CharField(
        max_length=10, choices=DocumentStatus.choices, default=DocumentStatus.PENDING
    )
    file = models.FileField(upload_to=document_path, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveIntegerField(default=0)
    chain_hash = models.CharField(max_length=64, blank=True)
    # What the PDF was made from, read by the worker in the same snapshot it renders: the
    # action plan's or the assessment's version, or for the incident log the number of the
    # newest entry in it (0: an empty log). None for the other kinds, and for a PDF made
    # before this was kept and not worked out since (migration 0008). It, not when the PDF
    # was ordered, says whether the data changed since (documents.with_outdated).
    data_version = models.PositiveIntegerField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The row is the outbox: when the render message last went to the broker (None: never,
    # for instance because Redis was down). The relay sends PENDING documents that were never
    # sent or were sent so long ago that the message must be lost (stalkingpakke.tasks).
    queued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("dokument")
        verbose_name_plural = _("dokumenter")
        ordering = ["-requested_at"]
        indexes = [
            models.Index(fields=["case", "kind", "-requested_at"], name="document_by_case"),
            models.Index(
                fields=["queued_at"],
                condition=models.Q(status="pending"),
                name="document_pending_by_queued",
            ),
        ]

    def __str__(self):
        return f"{self.case.reference}: {self.get_kind_display()}"

    @property
    def shown(self) -> int | None:
        """What the PDF shows (data_version), or with_outdated's reading of it when listed."""
        return getattr(self, "shows", self.data_version)

    @property
    def label(self) -> str:
        """Its kind and which version of the data it shows, so that two PDFs of a plan or a
        log are told apart by what is in them: "Handleplan, udgave 2", "Logskema til og med
        registrering nr. 14". Only the kind while it is being made (the worker decides)."""
        shown = self.shown
        if self.status != DocumentStatus.READY or shown is None:
            return str(self.get_kind_display())
        if self.kind == DocumentKind.INCIDENT_LOG:
            if not shown:
                return gettext("Logskema uden registreringer")
            return gettext("Logskema til og med registrering nr. %(n)d") % {"n": shown}
        if self.kind in (DocumentKind.ACTION_PLAN, DocumentKind.ASSESSMENT):
            return gettext("%(kind)s, udgave %(n)d") % {"kind": self.get_kind_display(), "n": shown}
        return str(self.get_kind_display())

    @property
    def is_outdated(self) -> bool:
        """The data changed after what the PDF shows (only known when listed through
        documents.with_outdated)."""
        return bool(
            getattr(self, "newer_entries", 0)
            or getattr(self, "plan_changed", False)
            or getattr(self, "assessment_changed", False)
        )


class IncidentLogChunk(models.Model):
    """A rendered PDF chunk of log entries. The log is append-only, so a chunk whose entries
    are unchanged (same content key: a hash over their entry hashes) is reused, and an added
    entry re-renders only the last chunk."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    index = models.PositiveIntegerField()
    content_key = models.CharField(max_length=64)
    entry_count = models.PositiveIntegerField()
    file = models.FileField(upload_to="chunks/")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "index", "content_key"], name="chunk_unique")
        ]

    def __str__(self):
        return f"{self.case.reference}: chunk {self.index}"
