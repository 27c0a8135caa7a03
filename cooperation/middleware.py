"""Sessions end after an idle time and after an absolute time.

Written here because django-session-security needs jQuery and inline script (CSP). The
session is re-saved at most once a minute instead of on every request: the idle clock stays
accurate to a minute and a page view does not cost a database write.
"""

import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login

TOUCH_EVERY = 60


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
            if (
                now - last_seen > settings.SESSION_IDLE_SECONDS
                or now - started > settings.SESSION_ABSOLUTE_SECONDS
            ):
                logout(request)
                return redirect_to_login(request.get_full_path())
            if now - last_seen >= TOUCH_EVERY or "last_seen" not in session:
                session["last_seen"] = now
        return self.get_response(request)
