"""docker-compose's web, worker and beat, run as the image runs them, without a Docker engine.

Each service's command is taken from docker-compose.yml and its environment from the file's
`x-app` block (secrets filled in, the service host names pointed at this machine's PostgreSQL
and Redis), and the Dockerfile's build-time collectstatic is run as written. What the image
adds (Python, the packages, Pango, fonts) is on this machine already; what it takes away is
write access to the code: the image's user owns only /data. So every service runs in a mount
namespace where the project directory is read-only, with /data mapped to a temporary folder.
That is what broke before: beat kept its schedule in the working directory and the web
service collected static files into the code at start, and both died with "Permission denied"
in the image while every other test passed.

Needs root (a mount namespace), the real PostgreSQL and the real Redis: run by CI.
"""

import base64
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

yaml = pytest.importorskip("yaml")

BASE = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.postgres, pytest.mark.redis]

# The Redis database the compose services use here: not the one the rest of the suite uses,
# so no other test's worker takes their tasks.
BROKER_DB = 14


def _can_make_read_only_mounts() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(  # noqa: S603
        ["unshare", "-m", "sh", "-c", 'mount --bind "$1" "$1"', "_", str(BASE)],  # noqa: S607
        capture_output=True,
    )
    return probe.returncode == 0


def _with_code_read_only(script: str, *args: str) -> list[str]:
    """The command line that runs `script` (a shell script; $1... are `args`) in the project
    directory, in a mount namespace where that directory is read-only."""
    read_only = 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" "$1" && cd "$1" && shift'
    return ["unshare", "-m", "sh", "-c", f"{read_only} && {script}", "_", str(BASE), *args]  # noqa: S607


def _compose() -> dict:
    return yaml.safe_load((BASE / "docker-compose.yml").read_text())


def _interpolate(value: str, given: dict[str, str]) -> str:
    """${NAME}, ${NAME:-default} and ${NAME:?message} as docker compose reads them."""

    def one(match):
        name, op, rest = match.group(1), match.group(2), match.group(3)
        if name in given:
            return given[name]
        if op == ":-":
            return rest
        raise AssertionError(f"docker-compose.yml needs {name} and the test does not give it")

    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, value)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=path))


def _image_environment() -> dict[str, str]:
    """The Dockerfile's ENV lines (NAME=value ...), which every container starts with."""
    text = (BASE / "Dockerfile").read_text().replace("\\\n", " ")
    pairs = [
        pair.split("=", 1)
        for line in text.splitlines()
        if line.startswith("ENV ")
        for pair in line[4:].split()
    ]
    return dict(pairs)


def _build_time_commands() -> list[str]:
    """The Dockerfile's RUN lines after the code is copied in (what the image is built with)."""
    text = (BASE / "Dockerfile").read_text().replace("\\\n", " ")
    after_copy = text.split("COPY . .", 1)[1]
    return [line[4:].strip() for line in after_copy.splitlines() if line.startswith("RUN ")]


class Stack:
    """The compose services' environment and how to start one of them."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.data = tmp / "data"
        for folder in ("media", "beat"):
            (self.data / folder).mkdir(parents=True)
        self.port = _free_port()
        self.database = f"samvirke_compose_{os.getpid()}"
        self.database_url = _with_path(os.environ["DATABASE_URL"], f"/{self.database}")
        key = base64.b64encode(os.urandom(32)).decode()
        secrets = {
            "SECRET_KEY": base64.b64encode(os.urandom(48)).decode(),
            "CPR_ENCRYPTION_KEY": key,
            "CPR_INDEX_KEY": base64.b64encode(os.urandom(32)).decode(),
            "ALLOWED_HOSTS": "127.0.0.1",
            "POSTGRES_PASSWORD": "unused-here",
        }
        compose_env = {
            name: _interpolate(str(value), secrets)
            for name, value in _compose()["x-app"]["environment"].items()
        }
        # The service host names of the compose network are this machine's services here,
        # and /data (the volumes) is a temporary folder.
        compose_env = {
            name: value.replace("/data/", f"{self.data}/") for name, value in compose_env.items()
        }
        compose_env["DATABASE_URL"] = self.database_url
        compose_env["CELERY_BROKER_URL"] = _with_path(
            os.environ["CELERY_BROKER_URL"], f"/{BROKER_DB}"
        )
        compose_env["REDIS_URL"] = _with_path(os.environ["CELERY_BROKER_URL"], f"/{BROKER_DB + 1}")
        self.compose_env = compose_env
        keep = {k: v for k, v in os.environ.items() if k in ("LANG", "LC_ALL", "TZ")}
        self.env = {
            **keep,
            **_image_environment(),
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            # The image's system user has no home directory: here one that cannot be made,
            # in the read-only project directory (root could make /nonexistent).
            "HOME": str(BASE / ".no-home"),
            # Not in the image's environment, only here: the checkout's own staticfiles/ is
            # left alone (the image collects into /app/staticfiles, the default).
            "STATIC_ROOT": str(tmp / "staticfiles"),
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_WORKERS": "1",
            **compose_env,
        }
        self.processes: list[subprocess.Popen] = []

    def build(self):
        """What the Dockerfile runs after copying the code in, as root (the build)."""
        for command in _build_time_commands():
            if command.startswith(("useradd", "apt-get", "pip ")):
                continue
            # A build sees none of the run-time environment (keys, addresses), only ENV lines.
            env = {k: self.env[k] for k in ("PATH", "STATIC_ROOT")} | {"HOME": str(self.tmp)}
            done = subprocess.run(  # noqa: S603
                ["sh", "-c", command],  # noqa: S607
                cwd=BASE,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"

    def start(self, service: str, log_name: str | None = None) -> subprocess.Popen:
        """The service's compose command, with the code's directory read-only."""
        command = _compose()["services"][service]["command"]
        command = command if isinstance(command, str) else " ".join(command)
        log = open(self.tmp / f"{log_name or service}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(  # noqa: S603
            _with_code_read_only('exec sh -c "$1"', command.strip()),
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")[-4000:]

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        """A one-off `manage.py` command in a service's container (docker compose run)."""
        return subprocess.run(  # noqa: S603
            _with_code_read_only('exec python manage.py "$@"', *args),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def sql(self, statement: str, params=()):
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else None

    def stop(self):
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, 15)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)


def _admin(sql: str):
    import psycopg

    with psycopg.connect(_with_path(os.environ["DATABASE_URL"], "/postgres"), autocommit=True) as c:
        c.execute(sql)


def _get(url: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def _wait_for(condition, *, seconds: float, what: str, log=lambda: ""):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen within {seconds} s\n{log()}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if not _can_make_read_only_mounts():
        if os.environ.get("REQUIRE_REAL_SERVICES"):
            pytest.fail("CI must be able to make a read-only mount (unshare -m, as root)")
        pytest.skip("needs root for a mount namespace (unshare -m) to make the code read-only")
    stack = Stack(tmp_path_factory.mktemp("compose"))
    _admin(f'DROP DATABASE IF EXISTS "{stack.database}"')
    _admin(f'CREATE DATABASE "{stack.database}"')
    try:
        stack.build()
        web = stack.start("web")

        def serving():
            assert web.poll() is None, stack.log("web")
            try:
                return _get(f"http://127.0.0.1:{stack.port}/accounts/login/")[0] == 200
            except OSError:
                return False

        _wait_for(serving, seconds=240, what="web answering", log=lambda: stack.log("web"))
        yield stack
    finally:
        stack.stop()
        _admin(f'DROP DATABASE IF EXISTS "{stack.database}" WITH (FORCE)')


def test_the_web_service_migrates_and_serves_the_login_page_and_its_static_files(stack):
    status, page = _get(f"http://127.0.0.1:{stack.port}/accounts/login/")
    assert status == 200
    assert 'lang="da"' in page
    stylesheets = re.findall(r'<link[^>]+href="(/static/[^"]+\.css)"', page)
    assert stylesheets, page[:2000]
    for href in stylesheets:
        # Collected at build time with hashed names (the manifest), served by whitenoise.
        assert re.search(r"\.[0-9a-f]{12}\.css$", href), href
        assert _get(f"http://127.0.0.1:{stack.port}{href}")[0] == 200
    assert stack.sql("SELECT count(*) FROM django_migrations")[0][0] > 0
    # Nothing it tried to write where the image's user cannot (its code, a home it lacks).
    for complaint in ("Permission denied", "Read-only file system", "Failed to start"):
        assert complaint not in stack.log("web")


def test_the_web_service_passes_the_deployment_checks_with_the_compose_environment(stack):
    done = stack.manage("check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_worker_runs_a_task_sent_through_redis(stack):
    stack.sql(
        "INSERT INTO django_session (session_key, session_data, expire_date) "
        "VALUES ('compose-test-expired', 'x', now() - interval '1 day')"
    )
    worker = stack.start("worker")
    sent = stack.manage(
        "shell",
        "-c",
        "from cooperation.tasks import clear_expired_sessions; clear_expired_sessions.delay()",
    )
    assert sent.returncode == 0, sent.stdout + sent.stderr

    def cleared():
        assert worker.poll() is None, stack.log("worker")
        return not stack.sql(
            "SELECT 1 FROM django_session WHERE session_key = 'compose-test-expired'"
        )

    _wait_for(cleared, seconds=60, what="the worker's task", log=lambda: stack.log("worker"))


def test_beat_keeps_its_schedule_in_its_volume_and_keeps_running(stack):
    beat = stack.start("beat")
    schedule = Path(stack.compose_env["CELERY_BEAT_SCHEDULE_FILENAME"])
    assert schedule.parent.is_relative_to(stack.data)

    def written():
        assert beat.poll() is None, stack.log("beat")
        return any(schedule.parent.glob(schedule.name + "*"))

    _wait_for(written, seconds=60, what="beat's schedule written", log=lambda: stack.log("beat"))
    time.sleep(3)
    assert beat.poll() is None, stack.log("beat")
    assert "Permission denied" not in stack.log("beat")
