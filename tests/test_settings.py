"""Production settings: secrets are required, and the deploy check passes with no warning."""

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _production_env(**overrides):
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process; production never does.
    dropped = ("DEBUG", "SAMVIRKE_TESTING", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        CPR_ENCRYPTION_KEY=base64.b64encode(os.urandom(32)).decode(),
        CPR_INDEX_KEY=base64.b64encode(os.urandom(32)).decode(),
        ALLOWED_HOSTS="samvirke.example.dk",
    )
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def _manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_deploy_check_passes_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=_production_env())
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage("check", env=_production_env(SECRET_KEY=None))
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_case_pages_are_never_cached_and_carry_a_strict_csp(world, client):
    case = world.active()
    client.force_login(world.coordinator)
    response = client.get(case.get_absolute_url())
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def _database_options(**env):
    code = "from django.conf import settings; print(settings.DATABASES['default'].get('OPTIONS'))"
    result = _manage(
        "shell",
        "-c",
        code,
        env=_production_env(DATABASE_URL="postgresql://postgres@127.0.0.1:5432/x", **env),
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_postgresql_binds_on_the_server_and_prepares_hot_queries_unless_turned_off():
    assert _database_options() == "{'server_side_binding': True, 'prepare_threshold': 5}"
    assert _database_options(DB_PREPARED_STATEMENTS="0") == "{}"


def test_the_web_servers_access_log_leaves_out_query_strings_and_referers():
    import runpy
    from pathlib import Path

    config = runpy.run_path(str(Path(__file__).resolve().parent.parent / "config/gunicorn.py"))
    log_format = config["access_log_format"]
    assert "%(U)s" in log_format
    for leaky in ("%(r)s", "%(q)s", "%(f)s", "%({"):
        assert leaky not in log_format
    compose = (Path(__file__).resolve().parent.parent / "docker-compose.yml").read_text()
    assert "gunicorn -c config/gunicorn.py" in compose
