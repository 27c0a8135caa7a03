"""Settings for `make bench`: the production settings plus the floor view's URL and template.

Everything else (database, keys, DEBUG) comes from the environment that bench/run.py sets.
"""

import os
from pathlib import Path

from config.settings import *  # noqa: F403
from config.settings import BASE_DIR, STORAGES, TEMPLATES

ROOT_URLCONF = "bench.urls"
TEMPLATES = [
    {**TEMPLATES[0], "DIRS": [*TEMPLATES[0]["DIRS"], BASE_DIR / "bench" / "templates"]},
    *TEMPLATES[1:],
]
# collectstatic writes here, not to the project's staticfiles/. Django's manifest storage
# resolves {% static %} exactly like production's WhiteNoise subclass of it, without spending
# a minute compressing files the bench never downloads.
STATIC_ROOT = Path(os.environ.get("BENCH_STATIC_ROOT", BASE_DIR / "bench" / "out" / "static"))
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}
