"""Sessions end after an idle time and after an absolute time.

Written here because django-session-security needs jQuery and inline script (CSP). The
session is re-saved at most once a minute instead of on every request: the idle clock stays
accurate to a minute and a page view does not cost a database write.
"""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.utils.translation import gettext, ngettext

TOUCH_EVERY = 60


def _why_logged_out(request, idle: bool) -> str:
    """Said on the login page (a message in a cookie: the session is gone), so nobody is left
    wondering where their work went."""
    if idle:
        reason = ngettext(
            "Du er logget ud, fordi du ikke har været aktiv i %(minutes)d minut.",
            "Du er logget ud, fordi du ikke har været aktiv i %(minutes)d minutter.",
            settings.SESSION_IDLE_SECONDS // 60,
        ) % {"minutes": settings.SESSION_IDLE_SECONDS // 60}
    else:
        reason = ngettext(
            "Du er logget ud, fordi du har været logget ind i %(hours)d time.",
            "Du er logget ud, fordi du har været logget ind i %(hours)d timer.",
            settings.SESSION_ABSOLUTE_SECONDS // 3600,
        ) % {"hours": settings.SESSION_ABSOLUTE_SECONDS // 3600}
    if request.method == "POST":
        reason += " " + gettext("Det, du sendte, blev ikke gemt: log ind, og udfyld det igen.")
    else:
        reason += " " + gettext("Log ind igen for at fortsætte.")
    return reason


class SessionLimitsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            session = request.session
            started = session.setdefault("started_at", now)
            last_seen = session.get("last_seen", now)
            idle = now - last_seen > settings.SESSION_IDLE_SECONDS
            if idle or now - started > settings.SESSION_ABSOLUTE_SECONDS:
                logout(request)
                messages.info(request, _why_logged_out(request, idle))
                return redirect_to_login(request.get_full_path())
            request.session_seen_at = now
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        """The request counts as the user being there, unless its view is `not_activity`."""
        now = getattr(request, "session_seen_at", None)
        if now is None or getattr(view_func, "not_activity", False):
            return None
        session = request.session
        if now - session.get("last_seen", now) >= TOUCH_EVERY or "last_seen" not in session:
            session["last_seen"] = now
        return None


def not_activity(view_func):
    """Mark a view that a page calls by itself (a status polled every few seconds): it must
    not keep a session alive at a desk nobody sits at; the idle limit still ends it."""
    view_func.not_activity = True
    return view_func
