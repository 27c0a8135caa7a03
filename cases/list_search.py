"""The search box of a case list keeps the words it is given out of URLs.

A search on a list of cases is a citizen's name or CPR number more often than not. In a URL it
would end up in the browser's history, in the web server's and proxy's access logs and in the
Referer of the next request (DESIGN: no personal data in URLs or logs). So the box posts its
words (with the CSRF token); the view keeps them in the session under the list's name and
redirects (303) to the list with only the filters that say nothing about a person (state,
urgency, ...) in the query string. Paging and filtering keep the search; "Ryd søgning",
logging out and the overview's count links (`?ryd=1`) forget it. A `q` in a query string is ignored.

Django signs session data but does not encrypt it, and the session table (and its backups) is
read by more people than the cases are. So the words are sealed with AES-GCM (cases.cpr.seal)
under their own purpose before they go into the session; words that no longer open (the key
was changed, the row was edited, or they were kept in clear before) count as no search, and
are dropped.
"""

from cryptography.exceptions import InvalidTag
from django.http import HttpResponseRedirect
from django.utils.http import urlencode

from .cpr import seal, unseal

SESSION_KEY = "list_search"
MAX_LENGTH = 100
# The sealed words' size in bytes: MAX_LENGTH characters of up to four bytes each in UTF-8.
SEALED_BYTES = 4 * MAX_LENGTH
CLEAR = "ryd"
PURPOSE = b"list_search"


def _searches(request) -> dict:
    searches = request.session.get(SESSION_KEY)
    return dict(searches) if isinstance(searches, dict) else {}


def current_search(request, list_name: str) -> str:
    searches = _searches(request)
    if list_name not in searches:
        return ""
    try:
        return unseal(searches[list_name], PURPOSE).rstrip()
    except (InvalidTag, ValueError, TypeError):
        searches.pop(list_name)
        request.session[SESSION_KEY] = searches
        return ""


def forget_search_for_link(request, list_name: str):
    """A link to a list with `ryd` in its query string (the overview's counts, which count the
    whole list) starts without the remembered words: a search typed earlier would otherwise
    hide what the count promised. None when the link does not ask for it."""
    if CLEAR not in request.GET:
        return None
    searches = _searches(request)
    searches.pop(list_name, None)
    request.session[SESSION_KEY] = searches
    query = request.GET.copy()
    query.pop(CLEAR)
    return HttpResponseRedirect(request.path + (f"?{query.urlencode()}" if query else ""))


def remember_search(request, list_name: str, *, keep: tuple[str, ...] = ()):
    """For a POST from the list's search box: keep its words in the session and send the
    browser back to the list, with the named filters (never the words) in the URL."""
    words = "" if CLEAR in request.POST else request.POST.get("q", "").strip()[:MAX_LENGTH]
    searches = _searches(request)
    if words:
        # Padded to one size in bytes, not characters (Æ, Ø and Å take two): a token's size
        # must not tell a CPR number or a reference from a Danish name.
        padding = " " * (SEALED_BYTES - len(words.encode()))
        searches[list_name] = seal(words + padding, PURPOSE)
    else:
        searches.pop(list_name, None)
    request.session[SESSION_KEY] = searches
    filters = {name: request.POST[name] for name in keep if request.POST.get(name)}
    query = f"?{urlencode(filters)}" if filters else ""
    return HttpResponseRedirect(request.path + query, status=303)
