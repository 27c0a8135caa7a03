"""Every code the code base writes into the audit trail has Danish words (cases.audit_labels).

The walk reads the source of the apps (not the tests, not the migrations) and finds each call
that writes the trail: audit.record, audit.record_read, audit.record_list_read, and any helper
that hands its parameter on to one of them (services._audit_change, views._reason_action),
found by the walk itself. A new call with a new code fails here until the code has a label; a
new call whose code is not written out (a variable, a function's result) fails until this
file is told which codes it can be (KNOWN_EXPRESSIONS); a code made from a value (f"form:{kind}")
fails until its family has a label and its values today are named (FAMILY_VALUES).
"""

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from cases import audit_labels
from cases.access import access_route
from cases.audit_views import AUDIT_PERMISSION
from cases.models import ConsentPartner, ReferralStatus
from cases.retention import PURPOSE as RETENTION_PURPOSE
from cases.services import ONWARD_TRANSITIONS
from cooperation.models import ConsultationKind
from stalkingpakke.models import DocumentKind, ToolKind

ROOT = Path(__file__).resolve().parent.parent
APPS = ("cases", "cooperation", "stalkingpakke")
# cases/audit.py defines the writers; its own calls pass their parameters on.
DEFINED_IN = Path("cases/audit.py")

# Codes made by an expression: the codes each one can be. A new expression fails the walk
# until it is added here.
KNOWN_EXPRESSIONS = {
    "what": {
        "self.audit_what": {"audit_admin", "disqualification_admin"},
        # cases/audit_views.py's _record_trail_read, called with these three.
        "what": {"audit_search", "audit_review", "audit_export"},
    },
    "purpose": {
        "PURPOSE": {RETENTION_PURPOSE},
        "retention.PURPOSE": {RETENTION_PURPOSE},
        "'superuser' if request.user.is_superuser else AUDIT_PERMISSION": {
            "superuser",
            AUDIT_PERMISSION,
        },
        "_partner_purpose(request.user)": {"grant:police", "grant:dsc", "grant:police,grant:dsc"},
        # Checked with access_route's answers (test_every_access_route_has_danish_words).
        "access_route(request.user, case)": set(),
    },
}


@dataclass(frozen=True)
class Parameter:
    """Where a writer takes a code: a keyword, or a position; a prefix the writer adds."""

    keyword: str
    position: int | None = None
    prefix: str = ""


# cases.audit's functions, called as audit.<name>(...) (every caller imports the module).
AUDIT_WRITERS = {
    "record": {"what": Parameter("what"), "purpose": Parameter("purpose")},
    "record_read": {"what": Parameter("what"), "purpose": Parameter("purpose")},
    "record_list_read": {
        "what": Parameter("name", prefix="list:"),
        "purpose": Parameter("purpose"),
    },
}


def _trees():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path.relative_to(ROOT), ast.parse(path.read_text(), filename=str(path))


TREES = list(_trees())


def _called(node: ast.Call, helpers) -> dict | None:
    """The writer's parameters if the call writes the trail: audit.<writer>(...) or a helper
    that passes its parameter on to one (services._audit_change, views._reason_action)."""
    func = node.func
    if isinstance(func, ast.Attribute) and getattr(func.value, "id", "") == "audit":
        return AUDIT_WRITERS.get(func.attr)
    if isinstance(func, ast.Name):
        return helpers.get(func.id)
    return None


def _argument(node: ast.Call, parameter: Parameter):
    for keyword in node.keywords:
        if keyword.arg == parameter.keyword:
            return keyword.value
    if parameter.position is not None and len(node.args) > parameter.position:
        return node.args[parameter.position]
    return None


def _calls(tree, function=None):
    """Each call in the tree with the function it is written in (None at module level)."""
    for child in ast.iter_child_nodes(tree):
        inner = child if isinstance(child, ast.FunctionDef) else function
        if isinstance(child, ast.Call):
            yield child, function
        yield from _calls(child, inner)


def _parameters(function) -> list[str]:
    return [a.arg for a in function.args.args] if function else []


def _passed_on(value, function) -> bool:
    if not (function and isinstance(value, ast.Name)):
        return False
    keywords = [a.arg for a in function.args.kwonlyargs]
    return value.id in _parameters(function) + keywords


def _helpers() -> dict:
    """Functions that take a code as a parameter and hand it to a writer, found until no new
    one turns up."""
    helpers: dict[str, dict] = {}
    while True:
        found = {name: dict(parameters) for name, parameters in helpers.items()}
        for path, tree in TREES:
            if path == DEFINED_IN:
                continue
            for node, function in _calls(tree):
                for key, parameter in (_called(node, found) or {}).items():
                    value = _argument(node, parameter)
                    if _passed_on(value, function):
                        names = _parameters(function)
                        position = names.index(value.id) if value.id in names else None
                        passed = Parameter(value.id, position, parameter.prefix)
                        found.setdefault(function.name, {})[key] = passed
        if found == helpers:
            return helpers
        helpers = found


def _codes(expression, key: str, where: str) -> set[str]:
    """The codes an argument can be: a string as it is, an f-string as a family (its text up
    to the first value, then "{}")."""
    if isinstance(expression, ast.Constant) and isinstance(expression.value, str):
        return {expression.value}
    if isinstance(expression, ast.JoinedStr):
        text = ""
        for part in expression.values:
            if not isinstance(part, ast.Constant):
                return {text + "{}"}
            text += part.value
        return {text}
    source = ast.unparse(expression)
    known = KNOWN_EXPRESSIONS[key]
    assert source in known, (
        f"{where}: {key}={source} is not a code written out; add the codes it can be to "
        f"KNOWN_EXPRESSIONS in tests/test_audit_labels.py"
    )
    return known[source]


def _written(key: str) -> dict[str, str]:
    """Every code written for `key` ("what" or "purpose") and one place that writes it."""
    helpers = _helpers()
    found = {}
    for path, tree in TREES:
        if path == DEFINED_IN:
            continue
        for node, function in _calls(tree):
            parameter = (_called(node, helpers) or {}).get(key)
            value = _argument(node, parameter) if parameter else None
            if value is None or _passed_on(value, function):
                continue  # not given (the writer's default), or given by the caller
            where = f"{path}:{node.lineno}"
            for code in _codes(value, key, where):
                found[parameter.prefix + code] = where
    return found


def _labelled(code: str, label) -> bool:
    if code.endswith("{}"):
        # Made from a value: the family has a label, whatever the value.
        code = code[:-2] + "ein-ny-vaerdi"
    return label(code) != code


WHATS = _written("what")
PURPOSES = _written("purpose")

# The values a code made from a value can have today, each to have a label of its own; None:
# the family's label is enough (a status page of a PDF, a number of years).
FAMILY_VALUES = {
    "what": {
        "form:{}": ToolKind.values,
        "document:{}": DocumentKind.values,
        "document_status:{}": None,
        "subject_access:{}": ["pdf", "json"],
        "case_form:refer_{}": ConsentPartner.values,
        "refer:{}": ConsentPartner.values,
        "consent:{}": ConsentPartner.values,
        "withdraw_consent:{}": ConsentPartner.values,
        # respond_to_referral answers accepted or declined.
        "referral:{}": [ReferralStatus.ACCEPTED, ReferralStatus.DECLINED],
        # record_onward_outcome records what a department or an external actor answered.
        "onward_outcome:{}": sorted({s for to in ONWARD_TRANSITIONS.values() for s in to}),
        "retention_years:{}": None,
        # The fields changed in the user or group admin (cooperation.admin): the family's
        # label and the code, which names them.
        "user:{}": None,
        "group:{}": None,
    },
    "purpose": {"consultation:{}": ConsultationKind.values},
}


def test_the_walk_finds_the_calls_that_write_the_trail():
    assert {"case", "cpr", "list:my_cases", "handover", "form:{}", "audit_export"} <= set(WHATS)
    assert {"visitator", "disqualified", RETENTION_PURPOSE, AUDIT_PERMISSION} <= set(PURPOSES)


@pytest.mark.parametrize("code", sorted(WHATS))
def test_every_what_written_has_danish_words(code):
    assert _labelled(code, audit_labels.what_label), f"{code} ({WHATS[code]}) has no label"


@pytest.mark.parametrize("code", sorted(PURPOSES))
def test_every_purpose_written_has_danish_words(code):
    assert _labelled(code, audit_labels.purpose_label), f"{code} ({PURPOSES[code]}) has no label"


@pytest.mark.parametrize(
    ("key", "codes", "label"),
    [("what", WHATS, audit_labels.what_label), ("purpose", PURPOSES, audit_labels.purpose_label)],
)
def test_every_value_of_a_family_has_its_own_words(key, codes, label):
    families = {code for code in codes if code.endswith("{}")}
    assert families == set(FAMILY_VALUES[key]), "name the values of a new family in FAMILY_VALUES"
    for family, values in FAMILY_VALUES[key].items():
        for value in values or ():
            code = family[:-2] + value
            assert label(code) not in (code, label(family[:-2] + "ein-ny-vaerdi")), code


def test_every_access_route_has_danish_words():
    """access_route's answers are the purpose of every read (record_read)."""
    import inspect

    tree = ast.parse(inspect.getsource(access_route))
    routes = {
        node.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Constant)
    }
    assert {"visitator", "responsible", "none"} <= routes
    for route in routes:
        assert audit_labels.purpose_label(route) != route, route


def test_a_code_without_words_is_shown_as_it_is():
    assert audit_labels.what_label("ny_ting") == "ny_ting"
    assert audit_labels.purpose_label("nyt_formaal") == "nyt_formaal"


def test_several_routes_are_each_in_words():
    label = audit_labels.purpose_label("grant:police,grant:dsc")
    assert "politiet" in label and "Dansk Stalking Center" in label and "grant:" not in label
