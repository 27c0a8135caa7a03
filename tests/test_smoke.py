from cases.models import CaseState


def test_world_builds_a_case_in_every_state(world):
    assert world.refer().state == CaseState.REFERRED
    assert world.in_triage().state == CaseState.IN_TRIAGE
    assert world.active(police=True).state == CaseState.ACTIVE
    assert world.closed().state == CaseState.CLOSED
