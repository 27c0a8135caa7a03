"""Small helpers for tests that open pages as a user."""


def opens(client, user, case) -> bool:
    """Whether the user can open the case's page: 200, or 404 as for a case that does not
    exist (anything else fails the test)."""
    client.force_login(user)
    status = client.get(case.get_absolute_url()).status_code
    assert status in (200, 404)
    return status == 200
