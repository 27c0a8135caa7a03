import datetime

import factory
from django.contrib.auth import get_user_model

from cooperation.models import Organisation, OrganisationKind, Role, RoleAssignment


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name", locale="da_DK")
    last_name = factory.Faker("last_name", locale="da_DK")
    password = factory.django.Password("pw-for-tests-only")


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("code",)

    name = factory.Sequence(lambda n: f"Kommune {n}")
    code = factory.Sequence(lambda n: f"K{n:03d}")
    kind = OrganisationKind.MUNICIPALITY


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
