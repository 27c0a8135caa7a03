import datetime

import factory
from django.contrib.auth import get_user_model

from cooperation.models import Organisation, OrganisationKind, Role, RoleAssignment, Unit

_FIRST_NAMES = ("Ulla", "Preben", "Gitte", "Torben", "Birthe", "Svend", "Kaj")
_LAST_NAMES = ("Kragh", "Bisgaard", "Munch", "Thygesen", "Dalsgaard", "Brix")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    # Fixed names, none of which a test uses as a marker: Faker's random Danish names once in a
    # while gave a user the "Mette" or "Vestergaard" a test checks a page does not show.
    first_name = factory.Sequence(lambda n: _FIRST_NAMES[n % len(_FIRST_NAMES)])
    last_name = factory.Sequence(lambda n: _LAST_NAMES[n % len(_LAST_NAMES)])
    password = factory.django.Password("pw-for-tests-only")


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("code",)

    name = factory.Sequence(lambda n: f"Kommune {n}")
    code = factory.Sequence(lambda n: f"K{n:03d}")
    kind = OrganisationKind.MUNICIPALITY


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit
        django_get_or_create = ("organisation", "name")

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Afdeling {n}")


class RoleAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoleAssignment

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = Role.FIRST_CONTACT
    valid_from = datetime.date(2020, 1, 1)


def user_with_role(role: str, organisation: Organisation, *, deputy=False, username=None):
    kwargs = {"username": username} if username else {}
    user = UserFactory(**kwargs)
    RoleAssignmentFactory(user=user, organisation=organisation, role=role, is_deputy=deputy)
    return user


def _current_assessment():
    from stalkingpakke.models import ToolKind, ToolVersion

    return ToolVersion.objects.current(ToolKind.ASSESSMENT)


def _stored_high_risk(tool_version, answers) -> bool:
    """FilledForm.high_risk as save_form stores it."""
    from stalkingpakke.models import FilledForm
    from stalkingpakke.services import is_high_risk

    return is_high_risk(FilledForm(tool_version=tool_version, answers=answers))


class AssessmentFactory(factory.django.DjangoModelFactory):
    """A filled-in assessment stored as it is, past the service: e.g. an earlier one that
    save_form (which edits the latest in place) would never leave behind. `risk` gives the
    risk indicators' answers by key: AssessmentFactory(case=case, risk={"escalation": "yes"})."""

    class Meta:
        model = "stalkingpakke.FilledForm"
        exclude = ("risk",)

    case = None  # required
    tool_version = factory.LazyFunction(_current_assessment)
    created_by = factory.SubFactory(UserFactory)
    risk = factory.Dict({})
    answers = factory.LazyAttribute(lambda o: {f"risk:{k}": v for k, v in o.risk.items()})
    high_risk = factory.LazyAttribute(lambda o: _stored_high_risk(o.tool_version, o.answers))
