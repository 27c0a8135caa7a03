"""Shared fixtures: a small cooperation (one municipality, its police district, DSC, one
user per role) and helpers that move a case through the flow with the real services."""

import os
from dataclasses import dataclass

import pytest

from cases import services
from cases.models import ConsentPartner, ConsentScope
from cooperation.models import Organisation, OrganisationKind, Role

from .factories import OrganisationFactory, UserFactory, user_with_role

REAL_DB = os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql"))
REAL_BROKER = bool(os.environ.get("CELERY_BROKER_URL"))


def pytest_configure(config):
    # CI sets REQUIRE_REAL_SERVICES so a missing variable cannot quietly skip the real tests.
    if os.environ.get("REQUIRE_REAL_SERVICES") and not (REAL_DB and REAL_BROKER):
        raise pytest.UsageError(
            "REQUIRE_REAL_SERVICES is set but DATABASE_URL or CELERY_BROKER_URL is not"
        )


def pytest_collection_modifyitems(config, items):
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL (CI does)")
    skip_redis = pytest.mark.skip(reason="needs Redis: set CELERY_BROKER_URL (CI does)")
    for item in items:
        if "postgres" in item.keywords and not REAL_DB:
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not REAL_BROKER:
            item.add_marker(skip_redis)


@pytest.fixture(autouse=True)
def _tasks_in_process(request):
    """Tasks run in-process unless a test asks for the real broker (marker "redis")."""
    from config.celery import app

    eager = "redis" not in request.keywords
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = eager
    yield
    app.conf.task_always_eager = previous


@dataclass
class World:
    municipality: Organisation
    other_municipality: Organisation
    police: Organisation
    dsc_org: Organisation
    first_contact: object
    visitator: object
    deputy_visitator: object
    coordinator: object
    police_contact: object
    dsc: object
    follow_up: object
    other_visitator: object
    outsider_coordinator: object
    admin: object

    def refer(self, actor=None, **kwargs):
        data = {
            "municipality": self.municipality,
            "full_name": "Mette Sørensen",
            "safe_contact": "Kun sms",
            "reason": "Gentagne beskeder",
        }
        data.update(kwargs)
        return services.refer(actor=actor or self.first_contact, **data)

    def in_triage(self, **kwargs):
        case = self.refer(**kwargs)
        return services.start_triage(actor=self.visitator, case=case)

    def active(self, *, police=False, dsc=False, coordinator=True, **kwargs):
        consents = []
        if police:
            consents += [(ConsentPartner.POLICE, s) for s in ConsentScope.values]
        if dsc:
            consents += [(ConsentPartner.DSC, ConsentScope.CONTACT)]
        return self.triaged(
            consents=consents, coordinator=coordinator, to_police=police, to_dsc=dsc, **kwargs
        )

    def triaged(self, *, consents=(), coordinator=True, to_police=False, to_dsc=False, **kwargs):
        """Referred with `consents`, triaged as stalking by the visitator and routed to the
        coordinator (unless coordinator=False) and to the partners asked for."""
        case = self.in_triage(consents=consents, **kwargs)
        return services.triage(
            actor=self.visitator,
            case=case,
            is_stalking=True,
            reasoning="Stalking",
            coordinator=self.coordinator if coordinator else None,
            to_police=to_police,
            to_dsc=to_dsc,
        )

    def closed(self, **kwargs):
        case = self.active(**kwargs)
        return services.close(actor=self.coordinator, case=case, reason="resolved")


def build_world() -> World:
    """The small cooperation every test uses; a plain function so that hypothesis test
    cases, which cannot use pytest fixtures, build the same one."""
    police = OrganisationFactory(name="Testpoliti", code="TPOL", kind=OrganisationKind.POLICE)
    municipality = OrganisationFactory(name="Testkommune", code="TST", police_district=police)
    other = OrganisationFactory(name="Andenkommune", code="AND", police_district=police)
    dsc_org = OrganisationFactory(
        name="Dansk Stalking Center", code="DSC", kind=OrganisationKind.DSC
    )
    return World(
        municipality=municipality,
        other_municipality=other,
        police=police,
        dsc_org=dsc_org,
        first_contact=user_with_role(Role.FIRST_CONTACT, municipality, username="first"),
        visitator=user_with_role(Role.VISITATOR, municipality, username="visitator"),
        deputy_visitator=user_with_role(
            Role.VISITATOR, municipality, deputy=True, username="deputy"
        ),
        coordinator=user_with_role(Role.COORDINATOR, municipality, username="coordinator"),
        police_contact=user_with_role(Role.POLICE_CONTACT, police, username="police"),
        dsc=user_with_role(Role.DSC_ADVISOR, dsc_org, username="dsc"),
        follow_up=user_with_role(Role.FOLLOW_UP, municipality, username="followup"),
        other_visitator=user_with_role(Role.VISITATOR, other, username="othervisitator"),
        outsider_coordinator=user_with_role(Role.COORDINATOR, other, username="othercoord"),
        admin=UserFactory(username="admin", is_staff=True, is_superuser=True),
    )


@pytest.fixture
def world(db):
    return build_world()
