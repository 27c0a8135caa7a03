"""`make bench`: the hot pages under load, side by side with the floor.

1. Recreates the PostgreSQL database samvirke_bench and fills it with COPY (bench/load.py):
   10,000 cases, 100,000 notes, their timelines, 200 users in three municipalities with roles,
   referrals, consents and guardian grants.
2. Serves the app with gunicorn (2 sync workers, DEBUG off, production settings with Redis as
   the cache, plus the floor view of bench/floor.py) and drives each page with wrk from a
   second process on loopback: 20 connections, 15 s each, logged in by a session made here.
   The floor (one query, a five-line template) runs before every page and at the end; each
   page is compared with the floor runs on either side of it.
3. Prints requests/s, p50, p95 and whether each page's p95 is within 3x the floor's, and
   writes bench/out/results.json. Then, without load: where a request's time goes (SQL,
   template, the rest, CPU), cProfile and every query per page (bench/out/profile-*.txt,
   queries-*.txt), and EXPLAIN ANALYZE of the list pages' case queries (explain.txt).

Options: --reuse-db keeps a filled samvirke_bench (iterating on code, not data); --no-load
only measures in-process; --duration/--connections/--workers change the load; --strict exits
1 when a page misses the target. BENCH_DB_NAME overrides the database name.
"""

import argparse
import base64
import contextlib
import cProfile
import json
import os
import pstats
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_DIR = BASE_DIR / "bench"
OUT = BENCH_DIR / "out"
# `python bench/run.py` puts bench/ first on the path: its settings.py and urls.py must not
# pass for top-level modules.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
sys.path.insert(0, str(BASE_DIR))

DB_NAME = os.environ.get("BENCH_DB_NAME", "samvirke_bench")
PG_URL = "postgresql://postgres@127.0.0.1:5432"
TARGET_RATIO = 3.0

# Bench-only values: the database is thrown away after each run.
BENCH_ENV = {
    "DJANGO_SETTINGS_MODULE": "bench.settings",
    "DATABASE_URL": f"{PG_URL}/{DB_NAME}",
    "DEBUG": "0",
    "SAMVIRKE_TESTING": "0",
    "SECRET_KEY": "bench-only-" + "x" * 50,
    "CPR_ENCRYPTION_KEY": base64.b64encode(b"bench-only-cpr-encryption-key-32").decode(),
    "CPR_INDEX_KEY": base64.b64encode(b"bench-only-cpr-index-key-32bytes").decode(),
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "0",
    "SESSION_COOKIE_SECURE": "0",
    "CSRF_COOKIE_SECURE": "0",
    "SECURE_HSTS_SECONDS": "0",
    # The bench logs in by making sessions directly; the 2FA middleware still runs, it only
    # does not ask for a code (a verified session costs the same one session read).
    "OTP_REQUIRED": "0",
    "BENCH_STATIC_ROOT": str(OUT / "static"),
    "LOG_LEVEL": "WARNING",
    # Production (docker-compose.yml) has a Redis cache; the bench uses its own database 15.
    # No broker: the measured pages send no tasks.
    "REDIS_URL": "redis://127.0.0.1:6379/15",
    "CELERY_BROKER_URL": "",
}


class BenchError(Exception):
    """A failure with a message that says what to do; printed without a traceback."""


def log(message=""):
    print(message, flush=True)


# ---- prerequisites ------------------------------------------------------------------------
def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    log("wrk is missing; installing Debian's package (apt-get install wrk) ...")
    apt = shutil.which("apt-get")
    if apt and os.geteuid() == 0:
        for cmd in (
            [apt, "-o", "DPkg::Lock::Timeout=300", "update", "-qq"],
            [apt, "-o", "DPkg::Lock::Timeout=300", "install", "-y", "-qq", "wrk"],
        ):
            subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL)  # noqa: S603
    found = shutil.which("wrk")
    if not found:
        raise BenchError(
            "wrk is needed to drive the load and could not be installed. "
            "Install it with `sudo apt-get install wrk` (Debian/Ubuntu) and run again."
        )
    return found


def check_redis():
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=3).close()
    except OSError as exc:
        raise BenchError(
            f"Cannot reach Redis at 127.0.0.1:6379 ({exc}); production has a Redis cache "
            "(REDIS_URL), so the bench needs one too. Start redis-server and run again."
        ) from exc


def recreate_database():
    import psycopg

    try:
        conn = psycopg.connect(f"{PG_URL}/postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise BenchError(
            f"Cannot reach PostgreSQL at {PG_URL} as user postgres ({exc}). "
            "Start it, or check that 127.0.0.1:5432 accepts user postgres (trust auth)."
        ) from exc
    with conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---- loading ------------------------------------------------------------------------------
def setup_database(reuse: bool) -> dict:
    import django
    from django.core.management import call_command

    started = time.perf_counter()
    if not reuse:
        recreate_database()
    django.setup()
    from cases.models import Case

    info = {}
    if reuse:
        try:
            if Case.objects.count() < 10_000:
                raise BenchError("")
        except Exception as exc:
            raise BenchError(
                f"--reuse-db: {DB_NAME} is missing or not filled; run without --reuse-db."
            ) from exc
        log(f"Reusing {DB_NAME}.")
        info["reused"] = True
        return info
    log(f"Creating {DB_NAME}: migrate ...")
    try:
        call_command("migrate", verbosity=0, interactive=False)
    except Exception as exc:
        raise BenchError(f"migrate failed on {DB_NAME}: {type(exc).__name__}: {exc}") from exc
    migrated = time.perf_counter()
    log("Loading data (COPY) ...")
    from bench.load import load

    counts = load()
    loaded = time.perf_counter()
    info.update(
        counts=counts,
        migrate_seconds=round(migrated - started, 1),
        load_seconds=round(loaded - migrated, 1),
    )
    log(
        "  {cases} cases, {notes} notes, {events} case events, {referrals} referrals, "
        "{consents} consents, {grants} grants, {assessments} assessments, {users} users".format(
            **counts
        )
    )
    log(f"  migrate {info['migrate_seconds']} s, load + VACUUM ANALYZE {info['load_seconds']} s")
    return info


def collectstatic() -> float | None:
    """collectstatic into bench/out/static, skipped when the sources have not changed."""
    import hashlib

    import django
    from django.conf import settings
    from django.contrib.staticfiles import finders
    from django.core.management import call_command

    digest = hashlib.sha256(f"{django.__version__} {settings.STORAGES}".encode())
    for finder in finders.get_finders():
        for path, storage in sorted(finder.list([]), key=lambda item: item[0]):
            stat = os.stat(storage.path(path))
            digest.update(f"{path} {stat.st_size} {stat.st_mtime_ns}\n".encode())
    stamp = Path(settings.STATIC_ROOT) / ".bench-sources"
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if manifest.exists() and stamp.exists() and stamp.read_text() == digest.hexdigest():
        return None
    started = time.perf_counter()
    shutil.rmtree(settings.STATIC_ROOT, ignore_errors=True)
    call_command("collectstatic", interactive=False, verbosity=0)
    stamp.write_text(digest.hexdigest())
    return round(time.perf_counter() - started, 1)


def check_urls():
    """Import every view now: a broken import fails here, not halfway through the run, and
    the in-process measurements use the code gunicorn starts with."""
    from django.urls import get_resolver

    try:
        get_resolver().url_patterns  # noqa: B018
    except Exception as exc:
        raise BenchError(f"The app does not import ({type(exc).__name__}: {exc}).") from exc


def pick_targets() -> dict:
    """Whom to log in as and which case to open: the worst realistic cases."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count, F, Func, IntegerField

    from cases.models import Case, CaseState
    from cooperation.models import Role, RoleAssignment

    User = get_user_model()
    visitator = User.objects.get(username="aar-visitator-1")  # biggest municipality
    coordinators = RoleAssignment.objects.filter(role=Role.COORDINATOR).values("user")
    busiest = (
        Case.objects.exclude(state=CaseState.CLOSED)
        .filter(responsible__in=coordinators)
        .values("responsible")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()
    )
    coordinator = User.objects.get(pk=busiest["responsible"])
    case = (
        Case.objects.filter(responsible=coordinator, state=CaseState.ACTIVE)
        .annotate(n_notes=Count("notes"))
        .filter(n_notes__gte=10)
        .annotate(distance=Func(F("n_notes") - 20, function="ABS", output_field=IntegerField()))
        .order_by("distance", "pk")
        .first()
    )
    if case is None:
        raise BenchError("No active case with 10+ notes for the coordinator: the load is off.")
    return {
        "visitator": visitator,
        "coordinator": coordinator,
        "coordinator_open_cases": busiest["n"],
        "case": case,
        "case_notes": case.n_notes,
        "case_events": case.events.count(),
    }


def make_session(user) -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.utils.module_loading import import_string

    store = import_string(settings.SESSION_ENGINE + ".SessionStore")()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.set_expiry(4 * 60 * 60)
    store.save()
    return store.session_key


# ---- gunicorn -----------------------------------------------------------------------------
class Server:
    def __init__(self, port: int, workers: int):
        self.port = port
        self.workers = workers
        self.proc = None
        self.log_path = OUT / "gunicorn.log"

    def start(self):
        gunicorn = Path(sys.executable).parent / "gunicorn"
        if not gunicorn.exists():
            raise BenchError(f"{gunicorn} not found: run `make bench` (it installs the venv).")
        cmd = [
            str(gunicorn),
            "config.wsgi:application",
            "--workers",
            str(self.workers),
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--chdir",
            str(BASE_DIR),
            "--error-logfile",
            str(self.log_path),
            "--log-level",
            "warning",
            "--timeout",
            "60",
        ]
        env = {**os.environ, **BENCH_ENV, "PYTHONPATH": str(BASE_DIR)}
        self.proc = subprocess.Popen(  # noqa: S603
            cmd,
            env=env,
            cwd=BASE_DIR,
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"gunicorn exited at start; see {self.log_path}")
            try:
                status, _ = fetch(self.url("/bench/floor/"))
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise BenchError(f"gunicorn did not answer within 30 s; see {self.log_path}")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)


def _die_with_parent():
    """In gunicorn's master before exec: SIGTERM it when run.py dies, even by SIGKILL."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the finally in main() still stops it


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def fetch(url: str, cookie: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url)  # noqa: S310 - loopback http only
    if cookie:
        request.add_header("Cookie", f"sessionid={cookie}")
    try:
        with _opener.open(request, timeout=10) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location", "")


def verify(server: Server, page: dict):
    status, body = fetch(server.url(page["path"]), page["cookie"])
    if status != 200:
        where = f" (redirect to {body})" if 300 <= status < 400 else ""
        raise BenchError(
            f"{page['name']}: GET {page['path']} gave {status}{where}, not 200 "
            f"(server errors: {OUT / 'gunicorn.log'})."
        )
    if 'name="password"' in body:
        raise BenchError(f"{page['name']}: got the login page; the session is not accepted.")
    if page["marker"] not in body:
        raise BenchError(f"{page['name']}: the page lacks {page['marker']!r}; check it by hand.")


def run_wrk(wrk: str, server: Server, page: dict, *, duration: int, connections: int) -> dict:
    cmd = [
        wrk,
        "-t",
        "2",
        "-c",
        str(connections),
        "-d",
        f"{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(BENCH_DIR / "report.lua"),
    ]
    if page["cookie"]:
        cmd += ["-H", f"Cookie: sessionid={page['cookie']}"]
    cmd.append(server.url(page["path"]))
    result = subprocess.run(  # noqa: S603
        cmd, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    match = re.search(r"^BENCH (.*)$", result.stdout, re.MULTILINE)
    if result.returncode != 0 or not match:
        raise BenchError(f"wrk failed on {page['name']}:\n{result.stdout}\n{result.stderr}")
    values = {k: int(v) for k, v in (item.split("=") for item in match.group(1).split())}
    seconds = values["duration_us"] / 1e6
    return {
        "requests": values["requests"],
        "rps": round(values["requests"] / seconds, 1),
        "p50_ms": round(values["p50_us"] / 1000, 1),
        "p95_ms": round(values["p95_us"] / 1000, 1),
        "p99_ms": round(values["p99_us"] / 1000, 1),
        "mean_ms": round(values["mean_us"] / 1000, 1),
        "max_ms": round(values["max_us"] / 1000, 1),
        "non2xx": values["non2xx"],
        "socket_errors": sum(values[k] for k in values if k.startswith("err_")),
    }


# ---- without load: where a request's time goes ------------------------------------------
class _SqlTimer:
    def __init__(self):
        self.reset()

    def reset(self):
        self.queries = 0
        self.seconds = 0.0
        self.in_template = 0.0
        self.template_depth = 0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - started
            self.queries += 1
            self.seconds += elapsed
            if self.template_depth:
                self.in_template += elapsed


def breakdown(
    pages: list[dict], *, batches: int = 5, batch: int = 10, profile_requests: int = 25
) -> dict:
    """Per page without load, in this process through the test client: ms per request in
    total, in SQL, in template rendering (less the SQL run from the template), the rest, and
    this process's CPU. Of several batches the quickest counts, which is the least disturbed
    by other work on the machine. Writes a cProfile of each page to bench/out/."""
    from django.db import connection
    from django.template.backends import django as django_backend
    from django.test import Client

    timer = _SqlTimer()
    template_time = [0.0]
    original_render = django_backend.Template.render

    def timed_render(self, *args, **kwargs):
        timer.template_depth += 1
        started = time.perf_counter()
        try:
            return original_render(self, *args, **kwargs)
        finally:
            timer.template_depth -= 1
            if not timer.template_depth:
                template_time[0] += time.perf_counter() - started

    def one_batch(client, page) -> dict:
        timer.reset()
        template_time[0] = 0.0
        with connection.execute_wrapper(timer):
            started, cpu_started = time.perf_counter(), time.process_time()
            for _ in range(batch):
                response = client.get(page["path"])
                if response.status_code != 200:
                    raise BenchError(f"{page['name']}: {response.status_code} in-process")
            total = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
        template = template_time[0] - timer.in_template
        return {
            "total_ms": round(total * 1000 / batch, 2),
            "sql_ms": round(timer.seconds * 1000 / batch, 2),
            "queries": round(timer.queries / batch, 1),
            "template_ms_excl_sql": round(template * 1000 / batch, 2),
            "other_ms": round((total - timer.seconds - template) * 1000 / batch, 2),
            "python_cpu_ms": round(cpu * 1000 / batch, 2),
        }

    results = {}
    django_backend.Template.render = timed_render
    try:
        for page in pages:
            client = Client(HTTP_HOST="127.0.0.1", raise_request_exception=True)
            if page["cookie"]:
                client.cookies["sessionid"] = page["cookie"]
            for _ in range(5):
                client.get(page["path"])
            measured = [one_batch(client, page) for _ in range(batches)]
            results[page["key"]] = min(measured, key=lambda m: m["total_ms"])
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(profile_requests):
                client.get(page["path"])
            profiler.disable()
            results[page["key"]]["profile_share"] = write_profile(profiler, page, profile_requests)
            write_queries(client, page)
    finally:
        django_backend.Template.render = original_render
    return results


# Where the profiled time goes, by the code that spends it (own time, not cumulative).
PROFILE_CATEGORIES = [
    ("db driver/wait", ("psycopg",)),
    ("templates", ("django/template/", "django/templatetags/")),
    ("static urls", ("django/contrib/staticfiles/", "django/core/files/storage")),
    ("i18n", ("django/utils/translation/",)),
    ("forms", ("django/forms/",)),
    ("ORM", ("django/db/",)),
    ("sessions/auth", ("django/contrib/sessions/", "django/contrib/auth/")),
    ("app code", ("/cases/", "/cooperation/", "/stalkingpakke/")),
    ("other django", ("django/",)),
]


def _short_path(filename: str) -> str:
    for marker in ("site-packages/", f"{BASE_DIR}/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def write_profile(profiler, page, n_requests) -> dict:
    stats = pstats.Stats(profiler)
    total = sum(v[2] for v in stats.stats.values()) or 1.0
    shares = {}
    for (filename, _line, _func), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        category = next(
            (name for name, parts in PROFILE_CATEGORIES if any(p in filename for p in parts)),
            "other (stdlib, libraries)",
        )
        shares[category] = shares.get(category, 0.0) + tottime
    shares = {k: round(100 * v / total, 1) for k, v in sorted(shares.items(), key=lambda i: -i[1])}
    with open(OUT / f"profile-{page['key']}.txt", "w") as fh:
        fh.write(f"{page['name']} {page['path']}: {n_requests} requests under cProfile\n")
        fh.write("Own time by category (%): " + json.dumps(shares) + "\n\n")
        stats.stream = fh
        original = pstats.func_strip_path
        pstats.func_strip_path = lambda f: (_short_path(f[0]), f[1], f[2])
        try:
            stats.strip_dirs()
        finally:
            pstats.func_strip_path = original
        stats.sort_stats("cumulative").print_stats(70)
        stats.sort_stats("tottime").print_stats(40)
    return shares


def write_queries(client, page):
    """Every query of one request, with its time, to bench/out/queries-<page>.txt."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(page["path"])
    lines = [f"{page['name']} {page['path']}: {len(captured)} queries"]
    for number, query in enumerate(captured.captured_queries, start=1):
        lines.append(f"\n-- {number}: {float(query['time']) * 1000:.2f} ms\n{query['sql']}")
    (OUT / f"queries-{page['key']}.txt").write_text("\n".join(lines) + "\n")


# ---- EXPLAIN ANALYZE ----------------------------------------------------------------------
def _plan_nodes(node, out):
    kind = node["Node Type"]
    if "Relation Name" in node or "Index Name" in node:
        label = kind
        if "Index Name" in node:
            label += f" using {node['Index Name']}"
        if "Relation Name" in node:
            label += f" on {node['Relation Name']}"
        loops = node.get("Actual Loops", 1)
        rows = node.get("Actual Rows", 0)
        label += f" (rows={rows}" + (f", loops={loops})" if loops > 1 else ")")
        out.append(label)
    for child in node.get("Plans", []):
        _plan_nodes(child, out)
    return out


def _label(sql: str) -> str:
    head = sql[:300]
    if "cases_referral" in head and 'FROM "cases_referral"' in head:
        return "waiting referrals"
    if head.startswith("SELECT COUNT(*)"):
        return "paginator count"
    if "FILTER (WHERE" in sql and "COUNT(" in head:
        return "state counts"
    if 'FROM "cases_case"' in sql and "LIMIT" in sql:
        return "page query"
    return "other"


def explain(pages: list[dict]) -> dict:
    """EXPLAIN ANALYZE every case/referral query the list pages make in one request."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    summary = {}
    text = []
    for page in pages:
        client = Client(HTTP_HOST="127.0.0.1")
        client.cookies["sessionid"] = page["cookie"]
        client.get(page["path"])
        with CaptureQueriesContext(connection) as captured:
            client.get(page["path"])
        rows = []
        for query in captured.captured_queries:
            sql = query["sql"]
            if not sql.startswith("SELECT") or not (
                '"cases_case"' in sql or '"cases_referral"' in sql
            ):
                continue
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")
                plan = cursor.fetchone()[0]
                plan = json.loads(plan) if isinstance(plan, str) else plan
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                plan_text = "\n".join(r[0] for r in cursor.fetchall())
            top = plan[0]
            rows.append(
                {
                    "query": _label(sql),
                    "execution_ms": round(top["Execution Time"], 2),
                    "planning_ms": round(top["Planning Time"], 2),
                    "scans": _plan_nodes(top["Plan"], []),
                }
            )
            text += [f"== {page['name']}: {_label(sql)}", sql, plan_text, ""]
        summary[page["key"]] = rows
    (OUT / "explain.txt").write_text("\n".join(text))
    return summary


# ---- main ---------------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds of load per page")
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--reuse-db", action="store_true", help="keep a filled samvirke_bench")
    parser.add_argument("--skip-breakdown", action="store_true", help="no profile/EXPLAIN")
    parser.add_argument("--no-load", action="store_true", help="only the in-process breakdown")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a page misses")
    args = parser.parse_args(argv)

    run_started = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    os.environ.update(BENCH_ENV)
    wrk = ensure_wrk()
    check_redis()
    db_info = setup_database(args.reuse_db)
    static_seconds = collectstatic()
    log(
        "collectstatic: unchanged, kept"
        if static_seconds is None
        else f"collectstatic {static_seconds} s"
    )

    check_urls()
    targets = pick_targets()
    visitator, coordinator, case = targets["visitator"], targets["coordinator"], targets["case"]
    visitator_cookie, coordinator_cookie = make_session(visitator), make_session(coordinator)
    log(
        f"Visitator {visitator.username}; coordinator {coordinator.username} with "
        f"{targets['coordinator_open_cases']} open cases; case {case.reference} with "
        f"{targets['case_notes']} notes, {targets['case_events']} events."
    )
    from cooperation.models import Organisation

    floor_name = Organisation.objects.get(pk=1).name
    pages = [
        {
            "key": "floor",
            "name": "floor",
            "path": "/bench/floor/",
            "cookie": None,
            "marker": floor_name,
            "target": False,
        },
        {
            "key": "floor_logged_in",
            "name": "floor, logged in",
            "path": "/bench/floor/",
            "cookie": coordinator_cookie,
            "marker": floor_name,
            "target": False,
        },
        {
            "key": "floor_audited",
            "name": "floor, audited",
            "path": "/bench/floor/audited/",
            "cookie": coordinator_cookie,
            "marker": floor_name,
            "target": False,
        },
        {
            "key": "triage_dashboard",
            "name": "triage dashboard",
            "path": "/visitation/",
            "cookie": visitator_cookie,
            "marker": 'id="queue-caption"',
            "target": True,
        },
        {
            "key": "my_cases",
            "name": "my cases",
            "path": "/sager/",
            "cookie": coordinator_cookie,
            "marker": 'id="cases-caption"',
            "target": True,
        },
        {
            "key": "case_page",
            "name": "case page",
            "path": f"/sager/{case.reference}/",
            "cookie": coordinator_cookie,
            "marker": case.reference,
            "target": True,
        },
    ]

    from django.db import connection

    connection.close()  # gunicorn's workers get their own; do not hold one across the load
    server = Server(free_port(), args.workers)
    runs: list[dict] = []
    if args.no_load:
        inprocess = breakdown(pages)
        print_breakdown(pages, inprocess)
        return 0
    try:
        log(f"Starting gunicorn ({args.workers} sync workers) on 127.0.0.1:{server.port} ...")
        server.start()
        for page in pages:
            verify(server, page)
        log(
            f"All pages answer 200. Load: wrk, {args.connections} connections, "
            f"{args.duration} s per page after a 3 s warm-up."
        )
        # The floor runs before every page and once more at the end, and each page is compared
        # with the floor runs on either side of it: other work on the machine then weighs on
        # both sides of the ratio alike.
        floor_page, sequence = pages[0], [pages[0]]
        for page in pages[1:]:
            sequence += [page, floor_page]
        for page in sequence:
            run_wrk(wrk, server, page, duration=3, connections=args.connections)
            measured = run_wrk(
                wrk, server, page, duration=args.duration, connections=args.connections
            )
            runs.append(
                {
                    "page": page["name"],
                    "key": page["key"],
                    "path": page["path"],
                    "target": page["target"],
                    "loadavg_1m": round(os.getloadavg()[0], 2),
                    **measured,
                }
            )
            log(f"  {page['name']:<18} {measured['rps']:>8} req/s  p95 {measured['p95_ms']} ms")
    finally:
        server.stop()

    results = summarise(runs)
    print_table(results, args)

    inprocess, plans, breakdown_error = {}, {}, None
    if not args.skip_breakdown:
        try:
            inprocess = breakdown(pages)
            print_breakdown(pages, inprocess)
            plans = explain([p for p in pages if p["key"] in ("triage_dashboard", "my_cases")])
            print_explain(pages, plans)
        except Exception as exc:  # the load results above still count
            breakdown_error = f"{type(exc).__name__}: {exc}"
            log(f"\nThe in-process breakdown failed, the load results stand: {breakdown_error}")

    all_met = all(r["meets_target"] for r in results if r["target"])
    payload = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count()},
        "load": {
            "tool": "wrk",
            "connections": args.connections,
            "duration_s": args.duration,
            "gunicorn_workers": args.workers,
        },
        "database": db_info,
        "collectstatic_seconds": static_seconds,
        "targets": {
            "visitator": visitator.username,
            "coordinator": coordinator.username,
            "coordinator_open_cases": targets["coordinator_open_cases"],
            "case": case.reference,
            "case_notes": targets["case_notes"],
            "case_events": targets["case_events"],
        },
        "target": f"p95 <= {TARGET_RATIO}x floor p95 at {args.connections} connections",
        "all_targets_met": all_met,
        "pages": results,
        "runs": runs,
        "without_load": inprocess,
        "explain": plans,
        "breakdown_error": breakdown_error,
        "run_seconds": round(time.perf_counter() - run_started, 1),
    }
    (OUT / "results.json").write_text(json.dumps(payload, indent=2, default=str))
    log(f"\nResults: {OUT / 'results.json'}; total {payload['run_seconds']} s.")
    return 1 if args.strict and not all_met else 0


def summarise(runs: list[dict]) -> list[dict]:
    """One row per page: the floor as the median of its runs, every other page with the mean
    p95 of the floor runs just before and after it, and its ratio to that."""
    import statistics

    floors = [r for r in runs if r["key"] == "floor"]
    floor = {
        "page": "floor",
        "key": "floor",
        "path": floors[0]["path"],
        "target": False,
        "runs": len(floors),
        "loadavg_1m": max(r["loadavg_1m"] for r in floors),
        "p95_ms_runs": [r["p95_ms"] for r in floors],
    }
    for field in ("requests", "rps", "p50_ms", "p95_ms", "p99_ms", "mean_ms", "max_ms"):
        floor[field] = statistics.median(r[field] for r in floors)
    floor["non2xx"] = sum(r["non2xx"] for r in floors)
    floor["socket_errors"] = sum(r["socket_errors"] for r in floors)
    floor.update(floor_p95_ms=floor["p95_ms"], ratio=1.0, meets_target=None)
    rows = [floor]
    for i, run in enumerate(runs):
        if run["key"] == "floor":
            continue
        around = [runs[j]["p95_ms"] for j in (i - 1, i + 1) if runs[j]["key"] == "floor"]
        run["floor_p95_ms"] = round(sum(around) / len(around), 1)
        run["ratio"] = round(run["p95_ms"] / run["floor_p95_ms"], 2)
        run["meets_target"] = run["ratio"] <= TARGET_RATIO if run["target"] else None
        rows.append(run)
    # For reading only: against the logged-in floor (session, user, roles), which separates
    # what a page costs from what every authenticated request costs.
    # And against the audited floor (logged in, one audit entry written): the least any page
    # that shows case data can cost, since every read of it is audited.
    login = next(r for r in rows if r["key"] == "floor_logged_in")
    audited = next(r for r in rows if r["key"] == "floor_audited")
    for row in rows:
        row["ratio_logged_in_floor"] = round(row["ratio"] / login["ratio"], 2)
        row["ratio_audited_floor"] = round(row["ratio"] / audited["ratio"], 2)
    return rows


def print_table(results, args):
    log(
        f"\nAt {args.connections} connections, {args.duration} s each; target: p95 within "
        f"{TARGET_RATIO:g}x the floor's p95."
    )
    header = (
        f"{'page':<18} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'floor p95':>10} "
        f"{'x floor':>8} {'x login':>8} {'x audited':>10}  target"
    )
    log(header)
    log("-" * len(header))
    for r in results:
        verdict = {True: "met", False: "MISSED", None: "-"}[r["meets_target"]]
        extra = f"  ({r['non2xx']} non-2xx!)" if r["non2xx"] or r["socket_errors"] else ""
        log(
            f"{r['page']:<18} {r['rps']:>8.1f} {r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} "
            f"{r['floor_p95_ms']:>10.1f} {r['ratio']:>8.2f} {r['ratio_logged_in_floor']:>8.2f}"
            f" {r['ratio_audited_floor']:>10.2f}"
            f"  {verdict}{extra}"
        )
    floor = results[0]
    log(
        f"(floor: median of {floor['runs']} runs, one before each page and one at the end; "
        f"p95 {min(floor['p95_ms_runs'])}-{max(floor['p95_ms_runs'])} ms. Each page is compared "
        "with the floor runs just before and after it.)"
    )
    busiest = max(r["loadavg_1m"] for r in results)
    if busiest > (os.cpu_count() or 1):
        log(
            f"Note: the machine was busy with other work (1-minute load average up to {busiest} "
            f"on {os.cpu_count()} CPUs): absolute numbers are pessimistic; compare ratios."
        )


def print_breakdown(pages, inprocess):
    log("\nWithout load (one request at a time, in-process, quickest of 5 batches), ms/request:")
    header = (
        f"{'page':<18} {'total':>7} {'SQL':>7} {'queries':>8} {'template':>9} {'other':>7}"
        f" {'CPU':>7}"
    )
    log(header)
    log("-" * len(header))
    for page in pages:
        r = inprocess[page["key"]]
        log(
            f"{page['name']:<18} {r['total_ms']:>7.2f} {r['sql_ms']:>7.2f} {r['queries']:>8} "
            f"{r['template_ms_excl_sql']:>9.2f} {r['other_ms']:>7.2f} {r['python_cpu_ms']:>7.2f}"
        )
    log(
        "(template: rendering less the SQL it runs; CPU: this process's CPU time, so the\n"
        " Python work without waiting for PostgreSQL. cProfile by category:)"
    )
    for page in pages:
        top = list(inprocess[page["key"]]["profile_share"].items())[:5]
        log(f"  {page['name']:<18} " + ", ".join(f"{k} {v}%" for k, v in top))


def print_explain(pages, plans):
    log("\nEXPLAIN ANALYZE of the list pages' case queries (plans: bench/out/explain.txt):")
    names = {p["key"]: p["name"] for p in pages}
    for key, rows in plans.items():
        for row in rows:
            log(
                f"  {names[key]} / {row['query']}: {row['execution_ms']} ms "
                f"(planning {row['planning_ms']} ms)"
            )
            for scan in row["scans"]:
                log(f"      {scan}")


def _terminate(signum, frame):
    raise KeyboardInterrupt  # so the finally in main() stops gunicorn


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
