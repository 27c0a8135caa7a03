"""gunicorn's settings for docker-compose's web service (`gunicorn -c config/gunicorn.py`).

The access log names the path, never the query string or the Referer: a query string or a
previous page's address can hold a citizen's name or CPR number (an old bookmark, a link
from elsewhere), and the access log is kept and read by people who must not see those
(DESIGN: no personal data in logs). The case lists' searches are posted for the same reason
(cases/list_search.py).
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
# Behind the reverse proxy that terminates TLS (README "Behind TLS").
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")
accesslog = "-"
# %(U)s is the path without the query string; no %(r)s, %(q)s or %(f)s (Referer).
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'
# No runtime control socket (gunicornc): nobody manages the workers that way here, and in the
# image its default place ($HOME/.gunicorn) is not writable by the app's user, who has no home.
control_socket_disable = True
