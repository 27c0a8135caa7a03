"""Finding a person by name in the case lists, whatever the case of the letters (Æ, Ø and Å
too) and however many names sit between the ones typed.

PostgreSQL's LOWER knows every letter. SQLite's (the embedded database of `make run`) knows
only A to Z, so "ærø" would not find "Ærø" there: each SQLite connection gets a function of its
own that lowercases as Python does, and `Folded` uses it on SQLite and LOWER elsewhere. Written
here because no library does this for Django's SQLite backend; the built-in LOWER is left
alone (an expression index is built with it).
"""

from django.db.models import Func, Q, TextField, Value
from django.db.models.lookups import Contains

SQLITE_FUNCTION = "samvirke_lower"


class Folded(Func):
    function = "LOWER"
    output_field = TextField()

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, function=SQLITE_FUNCTION, **extra)


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def add_sqlite_function(sender, connection, **kwargs):
    """connection_created: give a new SQLite connection the lowercasing `Folded` uses."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(SQLITE_FUNCTION, 1, _lower, deterministic=True)


def name_matches(field: str, search: str) -> Q:
    """Every word of the search somewhere in the name, in any order: "jonas kjær" finds
    "Jonas Ærø Kjær"."""
    words = search.lower().split()
    if not words:
        return Q(pk__in=[])
    query = Q()
    for word in words:
        query &= Q(Contains(Folded(field), Value(word)))
    return query
