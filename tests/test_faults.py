"""Fault injection: Redis stopped under the web, a worker killed in the middle of a PDF, one
PDF request sent twice. The Document row is the outbox and the relay sends what never left
or got lost (stalkingpakke.tasks).

Each test starts its OWN redis-server on a free port (the shared one on 6379 is never
touched) and real `celery -A config worker` processes in their own process group, against
the test database, so they can be SIGKILLed like a crashed machine or the OOM killer would.
Fixtures kill every process they started, also when a test fails.

Locally: SAMVIRKE_TESTING=1 DATABASE_URL=postgresql://postgres@127.0.0.1:5432/samvirke_c
CELERY_BROKER_URL=redis://127.0.0.1:6379/12 pytest -p no:cacheprovider tests/test_faults.py
"""

import base64
import contextlib
import datetime
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connections, transaction
from django.urls import reverse
from django.utils import timezone
from kombu import pools

from config.celery import app
from stalkingpakke import incident_log, tasks
from stalkingpakke.models import Document, DocumentKind, DocumentStatus

BASE_DIR = Path(__file__).resolve().parent.parent
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
HAVE_REDIS_SERVER = os.access(REDIS_SERVER, os.X_OK)
# How many incident log entries make a render slow enough to kill in the middle (seconds).
BIG_LOG = 400


def real_services(test):
    """Real PostgreSQL (the workers are other processes: they must see the test's rows),
    real Redis, committed transactions."""
    for mark in (
        pytest.mark.redis,
        pytest.mark.postgres,
        pytest.mark.django_db(transaction=True),
        pytest.mark.skipif(not HAVE_REDIS_SERVER, reason="needs the redis-server binary"),
    ):
        test = mark(test)
    return test


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(condition, *, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class RedisServer:
    """A redis-server of the test's own, stopped the hard way (SIGKILL) to fake an outage."""

    def __init__(self, directory: Path):
        self.port = _free_port()
        self.directory = directory
        self.process = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=5)

    def start(self):
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def up():
            try:
                return self.client().ping()
            except redis.ConnectionError:
                return False

        _wait_for(up, timeout=10, what="redis-server to answer")

    def freeze(self):
        """Hung, not gone: connections are still accepted (by the kernel), nothing answers."""
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)

    def kill(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def queued(self) -> list[int]:
        """The document ids of the render messages waiting in the default queue (not the
        other tasks there, such as the mail about a referral the test's routing made)."""
        ids = []
        for raw in self.client().lrange("celery", 0, -1):
            message = json.loads(raw)
            if message["headers"]["task"] != "stalkingpakke.tasks.render_document":
                continue
            args = json.loads(base64.b64decode(message["body"]))[0]
            ids.append(args[0])
        return ids

    def unacked(self) -> int:
        return self.client().hlen("unacked")

    def restore_unacked(self) -> int:
        """What kombu does once a message has been unacknowledged for the visibility timeout
        (two hours here): put it back in its queue, marked as redelivered."""
        client = self.client()
        restored = 0
        for tag, raw in client.hgetall("unacked").items():
            message, _exchange, routing_key = json.loads(raw)
            message["properties"]["delivery_info"]["redelivered"] = True
            client.lpush(routing_key or "celery", json.dumps(message))
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)
            restored += 1
        return restored


def _use_broker(url: str | None):
    """Point this process's Celery app (the web side and the relay) at another broker, or
    back at the configured one (None). The read and write URLs win over CELERY_BROKER_URL
    from the environment, which wins over broker_url."""
    app.conf.broker_write_url = url
    app.conf.broker_read_url = url
    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    _use_broker(server.url())
    yield server
    server.kill()
    _use_broker(None)


def _test_database_url() -> str:
    db = django_settings.DATABASES["default"]
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgresql://{credentials}@{host}/{db['NAME']}"


class Worker:
    """`celery -A config worker` in its own process group, logging to a file."""

    def __init__(self, env: dict, log: Path, concurrency: int):
        self.log_path = log
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=prefork",
                f"--concurrency={concurrency}",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                f"--hostname={log.stem}@localhost",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pgid = self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60):
        def ready():
            assert self.process.poll() is None, f"the worker exited:\n{self.log()[-3000:]}"
            return " ready." in self.log()

        _wait_for(ready, timeout=timeout, what="the worker to start", interval=0.1)

    def pool_children(self) -> list[int]:
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                # "pid (name) state ppid ...": the name may hold spaces, so split after ")"
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == self.process.pid:
                    children.append(int(stat.parent.name))
        return children

    def kill_group(self):
        """SIGKILL the worker, its pool and the renderer's processes: a crash, no goodbye."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def outcomes(self, document_id: int) -> list[str]:
        return re.findall(rf"Document {document_id}: (\w+)\n", self.log())


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture
def workers(broker, media, tmp_path):
    """Start real workers against the test database and this test's broker and media."""
    started = []
    env = dict(os.environ)
    env.update(
        DATABASE_URL=_test_database_url(),
        CELERY_BROKER_URL=broker.url(),
        MEDIA_ROOT=str(media),
        SAMVIRKE_TESTING="1",
        LOG_LEVEL="INFO",
    )

    def start(concurrency: int = 1) -> Worker:
        worker = Worker(env, tmp_path / f"worker{len(started) + 1}.log", concurrency)
        started.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.kill_group()


def pdf_files(media: Path) -> list[Path]:
    return sorted((media / "documents").rglob("*.pdf")) if (media / "documents").exists() else []


def add_log(world, case, count: int):
    start = timezone.make_aware(datetime.datetime(2025, 1, 1, 8, 0))
    rows = [
        {
            "occurred_at": start + datetime.timedelta(hours=7 * n),
            "what_happened": f"Hændelse {n}: beskeder og opkald om natten, æ ø å. " * 3,
            "behaviours": ["calls", "messages"],
            "place": "Ved hjemmet",
        }
        for n in range(count)
    ]
    incident_log.add_entries(actor=world.coordinator, case=case, rows=rows)


def request_pdf(client, case) -> tuple[object, float]:
    url = reverse("stalkingpakke:request_document", args=[case.reference, "incident_log"])
    began = time.monotonic()
    response = client.post(url)
    return response, time.monotonic() - began


def backdate(document, **fields):
    Document.objects.filter(pk=document.pk).update(**fields)


def wait_ready(document, timeout: float = 120):
    def done():
        document.refresh_from_db()
        return document.status != DocumentStatus.PENDING

    _wait_for(done, timeout=timeout, what="the document to be made", interval=0.2)
    assert document.status == DocumentStatus.READY, document.error


def assert_made_once(document, media: Path):
    """READY, one file on disk and it is the one the row names, one row for the request."""
    document.refresh_from_db()
    assert document.status == DocumentStatus.READY
    assert [p.relative_to(media).as_posix() for p in pdf_files(media)] == [document.file.name]
    assert Document.objects.filter(case=document.case).count() == 1


# Redis down -------------------------------------------------------------------------------


@real_services
def test_with_redis_down_a_pdf_request_is_kept_and_made_once_redis_is_back(
    world, client, broker, workers, media, caplog
):
    """The broker goes (the cache stays where it is configured: the next test takes that
    too)."""
    case = world.active(police=True)
    add_log(world, case, 3)
    client.force_login(world.coordinator)
    worker = workers()  # running all through the outage, as in production

    broker.kill()
    with caplog.at_level("WARNING", logger="stalkingpakke.tasks"):
        response, took = request_pdf(client, case)

    assert response.status_code == 302 and took < 3, took
    document = Document.objects.get(case=case)
    assert document.status == DocumentStatus.PENDING and document.queued_at is None
    warnings = [r for r in caplog.records if r.name == "stalkingpakke.tasks"]
    assert [r.getMessage() for r in warnings] == [
        f"Document {document.pk}: not sent to the broker (OperationalError), "
        "the relay sends it later"
    ]
    # The pages keep working and show the document as waiting.
    page = client.get(reverse("stalkingpakke:incident_log", args=[case.reference]))
    assert page.status_code == 200
    assert f'id="document-{document.pk}"' in page.content.decode()
    assert client.get(case.get_absolute_url()).status_code == 200
    assert client.get(reverse("home"), follow=True).status_code == 200  # the start page

    # A minute later the relay tries, Redis is still down: nothing sent, nothing hangs.
    backdate(document, requested_at=timezone.now() - tasks.UNSENT_GRACE)
    began = time.monotonic()
    assert tasks.relay_pending_documents() == 0
    assert time.monotonic() - began < 3
    document.refresh_from_db()
    assert document.queued_at is None

    broker.start()  # the same port, empty: the message never got there
    assert tasks.relay_pending_documents() == 1
    wait_ready(document)

    assert_made_once(document, media)
    assert document.attempts == 1 and document.queued_at is not None
    assert worker.outcomes(document.pk) == ["ready"]
    assert tasks.relay_pending_documents() == 0  # made: nothing more to send


@real_services
def test_with_the_whole_redis_down_a_logged_in_user_still_gets_pages_and_pdf_requests(
    world, client, broker, settings
):
    """One Redis serves the broker and the cache in production: when it goes, both go."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": broker.url(1),
        }
    }
    case = world.active(police=True)
    client.force_login(world.coordinator)
    broker.kill()

    assert client.get(case.get_absolute_url()).status_code == 200
    assert client.get(reverse("home"), follow=True).status_code == 200
    response, took = request_pdf(client, case)
    assert response.status_code == 302 and took < 3, took
    document = Document.objects.get(case=case)
    page = client.get(reverse("stalkingpakke:incident_log", args=[case.reference]))
    assert page.status_code == 200
    assert f'id="document-{document.pk}"' in page.content.decode()


@real_services
def test_with_redis_hung_a_pdf_request_still_answers_within_seconds(world, client, broker):
    """A Redis that accepts connections but never answers (frozen, failing over, a dead
    network path): without the broker's socket timeout the request would wait for ever."""
    case = world.active(police=True)
    client.force_login(world.coordinator)
    broker.freeze()
    safety = threading.Timer(20, broker.thaw)  # a hang fails the test instead of stalling it
    safety.start()
    try:
        response, took = request_pdf(client, case)
    finally:
        safety.cancel()
        broker.thaw()

    assert response.status_code == 302 and took < 4, took
    document = Document.objects.get(case=case)
    assert document.status == DocumentStatus.PENDING and document.queued_at is None


# A worker killed in the middle of a PDF ----------------------------------------------------


def kill_pool_process_mid_render(worker, document, attempt: int):
    """SIGKILL the pool process (as the OOM killer would) once it has claimed the document."""
    (child,) = worker.pool_children()

    def claimed():
        document.refresh_from_db()
        return document.attempts == attempt

    _wait_for(claimed, timeout=60, what="the worker to claim the document", interval=0.02)
    time.sleep(0.5)  # well into the render
    os.kill(child, signal.SIGKILL)


@real_services
def test_a_worker_killed_in_the_middle_of_a_pdf_leaves_it_to_be_made_once_by_the_next(
    world, client, broker, workers, media
):
    case = world.active(police=True)
    add_log(world, case, BIG_LOG)
    client.force_login(world.coordinator)
    first = workers()

    response, _ = request_pdf(client, case)
    assert response.status_code == 302
    document = Document.objects.get(case=case)

    def claimed():
        document.refresh_from_db()
        return document.attempts == 1

    _wait_for(claimed, timeout=60, what="the first worker to claim the document", interval=0.02)
    time.sleep(0.5)  # well into the render
    first.kill_group()

    document.refresh_from_db()
    assert document.status == DocumentStatus.PENDING and document.attempts == 1
    assert pdf_files(media) == []
    # Its message waits in Redis's unacknowledged set: back only after the visibility timeout.
    assert broker.unacked() == 1 and broker.queued() == []

    second = workers()
    # A quarter of an hour later the relay takes the message as lost and sends it again.
    backdate(document, queued_at=timezone.now() - tasks.STALE_AFTER)
    assert tasks.relay_pending_documents() == 1
    wait_ready(document)

    assert_made_once(document, media)
    assert document.attempts == 2
    assert second.outcomes(document.pk) == ["ready"]

    # Two hours on, the dead worker's message comes back: it finds the document made.
    made = (document.sha256, document.file.name, document.finished_at)
    assert broker.restore_unacked() == 1
    _wait_for(
        lambda: second.outcomes(document.pk) == ["ready", "skipped"],
        timeout=30,
        what="the old message to be handled",
    )
    _wait_for(lambda: broker.unacked() == 0, timeout=10, what="the old message to be acked")
    assert_made_once(document, media)
    assert (document.sha256, document.file.name, document.finished_at) == made
    assert document.attempts == 2


@real_services
def test_a_pool_process_killed_in_the_middle_of_a_pdf_gets_its_message_back_and_renders(
    world, client, broker, workers, media
):
    """Only the process rendering dies (the OOM killer): the worker gives the message back
    (late acknowledgement, reject on worker lost) and the redelivery renders, no relay."""
    case = world.active(police=True)
    add_log(world, case, BIG_LOG)
    client.force_login(world.coordinator)
    worker = workers()

    request_pdf(client, case)
    document = Document.objects.get(case=case)
    kill_pool_process_mid_render(worker, document, attempt=1)
    wait_ready(document)

    assert_made_once(document, media)
    assert document.attempts == 2
    assert "WorkerLostError" in worker.log()
    assert worker.outcomes(document.pk) == ["ready"]


@real_services
def test_a_document_that_kills_its_worker_every_time_ends_failed_instead_of_looping(
    world, client, broker, workers, media
):
    case = world.active(police=True)
    add_log(world, case, BIG_LOG)
    client.force_login(world.coordinator)
    request_pdf(client, case)  # no worker yet: the message waits in the queue
    document = Document.objects.get(case=case)
    backdate(document, attempts=tasks.MAX_ATTEMPTS - 1)  # as if it had killed them all
    worker = workers()

    kill_pool_process_mid_render(worker, document, attempt=tasks.MAX_ATTEMPTS)
    _wait_for(
        lambda: Document.objects.get(pk=document.pk).status != DocumentStatus.PENDING,
        timeout=60,
        what="the redelivered message to be handled",
    )

    document.refresh_from_db()
    assert document.status == DocumentStatus.FAILED and document.error == tasks.MSG_FAILED
    assert document.attempts == tasks.MAX_ATTEMPTS
    assert pdf_files(media) == []
    assert (
        f"Document {document.pk}: its worker was lost again after {tasks.MAX_ATTEMPTS} attempts"
        in worker.log()
    )
    _wait_for(lambda: broker.unacked() == 0, timeout=10, what="the message to be acked")
    assert broker.queued() == []


# The same request sent twice ---------------------------------------------------------------


@real_services
def test_a_request_sent_twice_and_rendered_twice_at_once_stores_one_file(
    world, client, broker, workers, media
):
    """The request's own message and the relay's (which took it for lost) run side by side
    in two pool processes: both claim, the later claim stores, the other stores nothing."""
    case = world.active(police=True)
    add_log(world, case, BIG_LOG // 2)
    client.force_login(world.coordinator)

    request_pdf(client, case)
    document = Document.objects.get(case=case)
    backdate(document, queued_at=timezone.now() - tasks.STALE_AFTER)
    assert tasks.relay_pending_documents() == 1
    assert broker.queued() == [document.pk, document.pk]

    worker = workers(concurrency=2)
    wait_ready(document)
    _wait_for(
        lambda: len(worker.outcomes(document.pk)) == 2,
        timeout=60,
        what="both messages to be handled",
    )

    assert_made_once(document, media)
    assert document.attempts == 2  # both runs claimed it: they really ran at the same time
    assert sorted(worker.outcomes(document.pk)) == ["ready", "superseded"]


# The relay ---------------------------------------------------------------------------------


@real_services
def test_the_relay_sends_only_pending_documents_never_sent_or_sent_too_long_ago(world, broker):
    case = world.active(police=True)
    now = timezone.now()
    long_ago = now - tasks.STALE_AFTER - datetime.timedelta(minutes=1)

    def document(status=DocumentStatus.PENDING, **fields):
        made = Document.objects.create(
            case=case, kind=DocumentKind.ADVICE, requested_by=world.coordinator, status=status
        )
        backdate(made, requested_at=fields.pop("requested_at", long_ago), **fields)
        return made.pk

    unsent = document(queued_at=None)
    lost = document(queued_at=long_ago)
    document(queued_at=None, requested_at=now)  # its own request is sending it right now
    document(queued_at=now - datetime.timedelta(minutes=5))  # in the queue or rendering
    document(status=DocumentStatus.READY, queued_at=long_ago)
    document(status=DocumentStatus.FAILED, queued_at=None)

    assert tasks.relay_pending_documents() == 2
    assert sorted(broker.queued()) == sorted([unsent, lost])
    assert tasks.relay_pending_documents() == 0  # sent just now: not again
    assert len(broker.queued()) == 2


@real_services
def test_the_relay_gives_up_on_a_document_lost_with_its_worker_too_often(world, broker):
    """A PDF that takes down its whole worker (no redelivery flag reaches a new one) would be
    re-sent every STALE_AFTER for ever; after MAX_ATTEMPTS it is failed, and the page's
    "Prøv igen" gives it one more try."""
    case = world.active(police=True)
    long_ago = timezone.now() - tasks.STALE_AFTER - datetime.timedelta(minutes=1)
    worn = Document.objects.create(
        case=case, kind=DocumentKind.ADVICE, requested_by=world.coordinator
    )
    backdate(worn, requested_at=long_ago, queued_at=long_ago, attempts=tasks.MAX_ATTEMPTS)
    young = Document.objects.create(
        case=case, kind=DocumentKind.ADVICE, requested_by=world.coordinator
    )
    backdate(young, requested_at=long_ago, queued_at=long_ago, attempts=1)

    assert tasks.relay_pending_documents() == 1
    assert broker.queued() == [young.pk]
    worn.refresh_from_db()
    assert worn.status == DocumentStatus.FAILED and worn.error == tasks.MSG_FAILED


@real_services
def test_a_second_relay_skips_the_documents_the_first_is_sending(world, broker):
    """Two beats (or a slow relay and the next minute's): the rows the first relay holds are
    skipped by the second, so no document is sent twice by relays."""
    case = world.active(police=True)
    pending = Document.objects.create(
        case=case, kind=DocumentKind.ADVICE, requested_by=world.coordinator
    )
    backdate(pending, requested_at=timezone.now() - tasks.STALE_AFTER)
    holding, release = threading.Event(), threading.Event()

    def first_relay_mid_send():
        try:
            with transaction.atomic():
                list(Document.objects.select_for_update().filter(pk=pending.pk))
                holding.set()
                release.wait(30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=first_relay_mid_send)
    thread.start()
    try:
        assert holding.wait(10)
        began = time.monotonic()
        assert tasks.relay_pending_documents() == 0
        assert time.monotonic() - began < 2  # skipped, not waited for
        assert broker.queued() == []
    finally:
        release.set()
        thread.join()
    assert tasks.relay_pending_documents() == 1
    assert broker.queued() == [pending.pk]


# The claim (no broker needed) --------------------------------------------------------------


@pytest.fixture
def pending(world):
    case = world.active(police=True)
    return Document.objects.create(
        case=case, kind=DocumentKind.ADVICE, requested_by=world.coordinator
    )


def test_a_redelivery_after_a_killed_run_claims_again_and_counts_the_attempt(pending):
    assert tasks._claim(pending.pk) == 1  # this run is killed: it never finishes
    assert tasks._claim(pending.pk, redelivered=True) == 2
    pending.refresh_from_db()
    assert pending.status == DocumentStatus.PENDING


def test_a_document_that_keeps_killing_its_worker_fails_instead_of_looping(pending, caplog):
    Document.objects.filter(pk=pending.pk).update(attempts=tasks.MAX_ATTEMPTS)
    assert tasks._claim(pending.pk) == tasks.MAX_ATTEMPTS + 1  # asked again: one more try
    with caplog.at_level("ERROR", logger="stalkingpakke.tasks"):
        assert tasks._claim(pending.pk, redelivered=True) is None

    pending.refresh_from_db()
    assert pending.status == DocumentStatus.FAILED and pending.error == tasks.MSG_FAILED
    assert pending.attempts == tasks.MAX_ATTEMPTS + 1
    assert caplog.messages == [
        f"Document {pending.pk}: its worker was lost again after {tasks.MAX_ATTEMPTS + 1} "
        "attempts, not rendered again"
    ]


def test_a_file_left_by_a_run_killed_before_its_commit_is_replaced_not_kept(
    pending, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path

    class Rendered:
        content = b"%PDF-1.7 new"
        chain_hash = ""
        data_version = None

    attempt = tasks._claim(pending.pk)
    name = f"{pending.case.reference}-{pending.kind}-{pending.pk}.pdf"
    leftover = tmp_path / Document.file.field.generate_filename(pending, name)
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"%PDF-1.7 half")

    assert tasks._finish(pending.pk, attempt, Rendered()) is True
    pending.refresh_from_db()
    assert list((tmp_path / "documents").rglob("*.pdf")) == [leftover]
    assert pending.file.name == leftover.relative_to(tmp_path).as_posix()
    assert leftover.read_bytes() == b"%PDF-1.7 new"


def test_the_leftover_is_found_even_when_the_next_run_is_in_another_month(pending):
    """The path holds no date: a run killed on the last evening of a month and re-run the
    next morning writes to the same place, so the half file is replaced (above), not left
    behind where no row points to it and retention would never find it."""
    name = f"{pending.case.reference}-{pending.kind}-{pending.pk}.pdf"
    path = Document.file.field.generate_filename(pending, name)
    assert path == f"documents/{pending.case_id}/{name}"
