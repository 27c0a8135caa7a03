"""`python bench/pdf_bench.py`: time and peak memory of the incident log PDF, and PDFs/minute.

Issue 4's targets on this machine: 1,000 entries in at most 4 s from scratch and 2 s after one
more entry is added; 5,000 entries within 400 MB.

1. Creates a throwaway PostgreSQL database `samvirke_pdfbench` (or, with --sqlite or when
   PostgreSQL cannot be reached, an SQLite file in a temporary directory), migrates it and
   fills one case per size with realistic entries (several kinds of behaviour, witnesses,
   police journal numbers, corrections) through the real services.
2. Measures each size in a fresh process that first does what a started worker has done
   (imports WeasyPrint and matplotlib, starts the PDF fork server): the whole task
   `render_document` (queries, chain check, chart, rendering, merging, storing) from scratch
   (no stored chunks), then again after one more entry. Peak memory is the largest sum of
   the resident memory of that process and all its descendants (the fork server and the
   pool's processes), sampled every 20 ms, so it counts parallel rendering honestly.
3. Measures PDFs per minute from one worker process: 20 action plans one after another.

Prints a table and whether the targets are met. --dump DIR keeps the PDFs to look at.
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PG_URL = "postgresql://postgres@127.0.0.1:5432"
DB_NAME = "samvirke_pdfbench"
SIZES = (10, 100, 1000, 5000)
THROUGHPUT_COUNT = 20
TARGET_SCRATCH_S = {1000: 4.0}
TARGET_ADDED_S = {1000: 2.0}
TARGET_PEAK_MB = {5000: 400.0}


def log(message=""):
    print(message, flush=True)


# ---- measuring memory of a process tree ----------------------------------------------------
def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(p) for p in handle.read().split()]
    except OSError:
        pass
    return found


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0


def _run_queue_wait_s() -> float:
    """How long this process's main thread has waited for a CPU while it could have run."""
    try:
        with open(f"/proc/{os.getpid()}/task/{os.getpid()}/schedstat") as handle:
            return int(handle.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


class TreeSampler:
    """Peak of (this process + all descendants) resident memory, and the CPU time they used,
    sampled every 20 ms in a thread (processes that live shorter than that are missed)."""

    def __init__(self, interval=0.02):
        self.interval = interval
        self.peak_kb = 0
        self._start: dict[int, int] = {}
        self._last: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _pids(self) -> list[int]:
        found, todo = [], [os.getpid()]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo += _children(pid)
        return found

    def _sample(self) -> None:
        total = 0
        for pid in self._pids():
            total += _rss_kb(pid)
            self._last[pid] = _cpu_ticks(pid)
        self.peak_kb = max(self.peak_kb, total)

    def _run(self):
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self):
        self._waited = -_run_queue_wait_s()
        self._start = {pid: _cpu_ticks(pid) for pid in self._pids()}
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()
        self._waited += _run_queue_wait_s()

    @property
    def waited_s(self) -> float:
        """Time the worker process could have run but other processes had the CPUs."""
        return self._waited

    @property
    def peak_mb(self) -> float:
        return self.peak_kb / 1024

    def _cpu(self, own: bool) -> float:
        ticks = sum(
            last - self._start.get(pid, 0)
            for pid, last in self._last.items()
            if (pid == os.getpid()) == own
        )
        return ticks / os.sysconf("SC_CLK_TCK")

    @property
    def own_cpu_s(self) -> float:
        """CPU time of this process (the worker process)."""
        return self._cpu(own=True)

    @property
    def helper_cpu_s(self) -> float:
        """CPU time of its descendants (the pool process, the fork server)."""
        return self._cpu(own=False)


# ---- the child processes -------------------------------------------------------------------
def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


SENTENCES = [
    "Han ringede {n} gange i løbet af aftenen og lagde beskeder på telefonsvareren.",
    "Hun så hans bil holde på vejen over for opgangen, da hun kom hjem fra arbejde.",
    "Der lå en buket blomster på måtten med et kort: 'Vi hører sammen, altid'.",
    "Han skrev på Facebook, at han vidste, hvor hun havde været i weekenden.",
    "Han stod ved skolen, da hun hentede børnene, og fulgte efter dem til Føtex.",
    "En fælles veninde fortalte, at han havde spurgt til hendes nye adresse.",
    "Hun modtog {n} sms'er mellem klokken 23 og 02 med skiftevis kærlige og truende ord.",
    "Dækkene på hendes cykel var skåret op, og der var ridset et hjerte i lakken.",
    "Han truede med at 'gøre noget', hvis hun ikke svarede inden fredag.",
    "Hun fandt en GPS-sender under bilens bagkofanger og afleverede den til politiet.",
]
PLACES = ["Ved hjemmet, Åvej 12", "Arbejdspladsen", "Skolen", "Føtex, Ølstykke", "", "Online"]
KINDS = [
    "calls",
    "messages",
    "social_media",
    "following",
    "at_home",
    "at_work",
    "through_others",
    "gifts",
    "threats",
    "damage",
    "tracking",
    "other",
]


def _entry(rng: random.Random, when) -> dict:
    text = " ".join(
        rng.choice(SENTENCES).format(n=rng.randint(2, 30)) for _ in range(rng.randint(1, 3))
    )
    police = rng.random() < 0.15
    return {
        "occurred_at": when,
        "place": rng.choice(PLACES),
        "what_happened": text,
        "behaviours": rng.sample(KINDS, rng.choice([1, 1, 2, 3])),
        "witnesses": rng.choice(["", "", "Naboen Søren", "Kollegaen Åse"]),
        "evidence": rng.choice(["", "Skærmbilleder", "Opkaldsliste", "Foto af cyklen"]),
        "reported_to_police": police,
        "police_journal_number": f"1200-80{rng.randint(100, 999)}-00{rng.randint(10, 99)}-25"
        if police
        else "",
        "effect": rng.choice(["", "", "Sov dårligt.", "Turde ikke gå på arbejde dagen efter."]),
    }


def _world():
    import datetime

    from cases import services
    from cases.models import ConsentPartner, ConsentScope
    from cooperation.models import OrganisationKind, Role
    from stalkingpakke.content import load_defaults
    from stalkingpakke.models import ToolKind, ToolVersion
    from tests.factories import OrganisationFactory, user_with_role

    load_defaults(ToolVersion, ToolKind.values)
    police = OrganisationFactory(name="Benchpoliti", code="BPOL", kind=OrganisationKind.POLICE)
    municipality = OrganisationFactory(name="Benchkommune", code="BEN", police_district=police)
    first = user_with_role(Role.FIRST_CONTACT, municipality, username="bench-first")
    visitator = user_with_role(Role.VISITATOR, municipality, username="bench-visitator")
    coordinator = user_with_role(Role.COORDINATOR, municipality, username="bench-coordinator")
    user_with_role(Role.POLICE_CONTACT, police, username="bench-police")

    def active_case():
        consents = [(ConsentPartner.POLICE, s) for s in ConsentScope.values]
        case = services.refer(
            actor=first,
            municipality=municipality,
            full_name="Birthe Ærø Østergård",
            safe_contact="Kun sms",
            reason="Gentagne beskeder",
            consents=consents,
        )
        case = services.start_triage(actor=visitator, case=case)
        return services.triage(
            actor=visitator,
            case=case,
            is_stalking=True,
            reasoning="Stalking",
            coordinator=coordinator,
            to_police=True,
        )

    return coordinator, active_case, datetime


def child_setup(sizes: list[int]) -> dict:
    """Fill one case per size (and one for warming up); print their ids."""
    _django()
    from django.utils import timezone

    from stalkingpakke import incident_log, services
    from stalkingpakke.models import ToolKind, ToolVersion

    coordinator, active_case, datetime = _world()
    rng = random.Random(4)
    cases = {}
    for size in [3, *sizes]:
        case = active_case()
        start = timezone.make_aware(datetime.datetime(2024, 1, 8, 7, 30))
        when, rows = start, []
        for _ in range(size):
            when += datetime.timedelta(minutes=rng.randint(60, 60 * 30))
            rows.append(_entry(rng, when))
        incident_log.add_entries(actor=coordinator, case=case, rows=rows)
        # a few corrections, as in real logs
        for entry in list(case.incidents.order_by("sequence")[: max(1, size // 100)]):
            data = {f: getattr(entry, f) for f in incident_log.ENTRY_FIELDS}
            data["what_happened"] += " (Rettet: klokkeslættet var en time senere.)"
            incident_log.correct_entry(
                actor=coordinator, entry=entry, data=data, reason="Borgeren huskede forkert"
            )
        cases[size] = case.pk
    plan_case = active_case()
    services.save_action_plan(
        actor=coordinator,
        case=plan_case,
        goals="At kunne sove trygt og gå på arbejde igen. Få stoppet kontakten helt.",
        safety_measures="Hemmeligt telefonnummer. Aftale med naboen Søren om at ringe 112.",
        next_review=datetime.date(2026, 1, 15),
        items=[
            {
                "who": who,
                "what": what,
                "deadline": datetime.date(2025, 12, day),
                "status": status,
            }
            for who, what, day, status in [
                ("Koordinator", "Henvise til Dansk Stalking Center", 5, "done"),
                ("Borgeren", "Føre logskema hver dag og gemme skærmbilleder", 10, "in_progress"),
                ("Politiets kontaktperson", "Vurdere tilhold", 12, "not_started"),
                ("Koordinator", "Netværksmøde med skolen om børnenes sikkerhed", 19, "dropped"),
            ]
        ],
    )
    content = ToolVersion.objects.current(ToolKind.ASSESSMENT).content
    answers = {}
    for section in content["sections"]:
        for field in section["fields"]:
            kind = field["type"]
            if kind == "yesno":
                answers[field["key"]] = rng.choice(["yes", "no", "unknown"])
            elif kind == "choice":
                answers[field["key"]] = field["choices"][0]["key"]
            elif kind == "multichoice":
                answers[field["key"]] = [c["key"] for c in field["choices"][:2]]
            elif kind == "date":
                answers[field["key"]] = "2025-03-01"
            else:
                answers[field["key"]] = "Han skrev, at han ville 'ødelægge hende'. Åbenlys trussel."
    for indicator in content["risk_indicators"]:
        answers[f"risk:{indicator['key']}"] = rng.choice(["yes", "no", "unknown"])
    services.save_form(actor=coordinator, case=plan_case, kind=ToolKind.ASSESSMENT, answers=answers)
    return {"cases": cases, "plan_case": plan_case.pk, "coordinator": coordinator.pk}


def _warm_worker():
    """What a worker has done before its first big document: import the renderers, start the
    fork server (WeasyPrint already imported in it)."""
    from stalkingpakke import chart, pdf, tasks  # noqa: F401

    pdf.render_many(["<p>x</p>", "<p>y</p>"], parallel=True)


def _request(case_id: int, coordinator_id: int, kind: str):
    from django.contrib.auth import get_user_model

    from cases.models import Case
    from stalkingpakke import documents

    document = documents.request_document(
        actor=get_user_model().objects.get(pk=coordinator_id),
        case=Case.objects.get(pk=case_id),
        kind=kind,
    )
    document.refresh_from_db()
    if document.status != "ready":
        raise SystemExit(f"document {document.pk} ended {document.status}: {document.error}")
    return document


def _timed(fn) -> tuple[object, dict]:
    started = time.perf_counter()
    with TreeSampler() as sampler:
        result = fn()
    wall = time.perf_counter() - started
    return result, {
        "s": wall,
        "cpu": sampler.own_cpu_s + sampler.helper_cpu_s,
        # What the wall time would be on an idle machine, from below and from above. The two
        # processes work side by side, so it is at least what the busier one needs of the CPU;
        # and it is at most the wall time less the time the worker process waited for a CPU
        # that other processes had (its waits for the pool process are kept, though on an
        # idle machine they would be shorter too).
        "idle_lo": max(sampler.own_cpu_s, sampler.helper_cpu_s),
        "idle_hi": max(wall - sampler.waited_s, sampler.own_cpu_s),
        "mb": sampler.peak_mb,
    }


def child_measure(case_id: int, coordinator_id: int, warm_case: int, dump: str) -> dict:
    _django()
    import datetime

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from stalkingpakke import incident_log, pdf
    from stalkingpakke.models import DocumentKind, IncidentLogChunk

    started = time.perf_counter()
    _warm_worker()
    _request(warm_case, coordinator_id, DocumentKind.INCIDENT_LOG)
    warm_s = time.perf_counter() - started
    for chunk in IncidentLogChunk.objects.filter(case_id=case_id):
        chunk.file.delete(save=False)
        chunk.delete()

    load_before = os.getloadavg()[0]
    first, scratch = _timed(lambda: _request(case_id, coordinator_id, DocumentKind.INCIDENT_LOG))
    chunks = IncidentLogChunk.objects.filter(case_id=case_id).count()
    before = set(IncidentLogChunk.objects.filter(case_id=case_id).values_list("pk", flat=True))
    case = first.case
    last = case.incidents.order_by("-occurred_at").first()
    incident_log.add_entry(
        actor=get_user_model().objects.get(pk=coordinator_id),
        case=case,
        data={
            "occurred_at": last.occurred_at + datetime.timedelta(hours=3),
            "what_happened": "Endnu en hændelse: han stod ved døren kl. 23 og bankede på.",
            "behaviours": ["at_home"],
            "place": "Ved hjemmet",
        },
    )
    second, added = _timed(lambda: _request(case_id, coordinator_id, DocumentKind.INCIDENT_LOG))
    after = set(IncidentLogChunk.objects.filter(case_id=case_id).values_list("pk", flat=True))
    with second.file.open("rb") as handle:
        content = handle.read()
    if dump:
        size = case.incidents.count()
        Path(dump, f"logskema-{size}.pdf").write_bytes(content)
    return {
        "warm_s": warm_s,
        "scratch": scratch,
        "added": added,
        "chunks": chunks,
        "rerendered": len(after - before),
        "pages": pdf.page_count(content),
        "bytes": len(content),
        "pdfa": pdf.pdfa_claim(content),
        "load": load_before,
        "at": timezone.now().isoformat(),
    }


def child_throughput(plan_case: int, coordinator_id: int, count: int, dump: str) -> dict:
    _django()
    from stalkingpakke.models import DocumentKind

    _warm_worker()
    _request(plan_case, coordinator_id, DocumentKind.ACTION_PLAN)  # warm templates
    started = time.perf_counter()
    for _ in range(count):
        document = _request(plan_case, coordinator_id, DocumentKind.ACTION_PLAN)
    elapsed = time.perf_counter() - started
    if dump:
        for kind in (DocumentKind.ACTION_PLAN, DocumentKind.ASSESSMENT, DocumentKind.ADVICE):
            document = _request(plan_case, coordinator_id, kind)
            with document.file.open("rb") as handle:
                Path(dump, f"{kind}.pdf").write_bytes(handle.read())
    return {"count": count, "seconds": elapsed, "per_minute": count / elapsed * 60}


# ---- the driver ----------------------------------------------------------------------------
def _database(use_sqlite: bool, workdir: Path) -> tuple[str, object]:
    if not use_sqlite:
        try:
            import psycopg

            with psycopg.connect(f"{PG_URL}/postgres", autocommit=True, connect_timeout=3) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
                c.execute(f'CREATE DATABASE "{DB_NAME}"')

            def drop():
                with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as c:
                    c.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')

            return f"{PG_URL}/{DB_NAME}", drop
        except Exception as exc:  # noqa: BLE001
            log(f"PostgreSQL is not available ({exc.__class__.__name__}); using SQLite.")
    return f"sqlite:///{workdir / 'bench.sqlite3'}", lambda: None


def _run_child(env: dict, *args) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, *map(str, args)],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"bench step {args[0]} failed")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _span(r: dict) -> str:
    return f"{r['idle_lo']:.2f}-{r['idle_hi']:.2f}"


def driver(args) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="samvirke-pdfbench-"))
    dump = str(Path(args.dump).resolve()) if args.dump else ""
    if dump:
        Path(dump).mkdir(parents=True, exist_ok=True)
    url, drop = _database(args.sqlite, workdir)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SAMVIRKE_TESTING": "1",
        "DATABASE_URL": url,
        "MEDIA_ROOT": str(workdir / "media"),
        "CELERY_BROKER_URL": "",
        "REDIS_URL": "",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(BASE_DIR),
    }
    try:
        log(f"Database: {url.split('@')[-1]}; files in {workdir}")
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            env=env,
            cwd=BASE_DIR,
            check=True,
        )
        started = time.perf_counter()
        setup = _run_child(env, "--child-setup", ",".join(map(str, args.sizes)))
        log(f"Filled {len(args.sizes)} cases in {time.perf_counter() - started:.0f} s.")
        cases = {int(k): v for k, v in setup["cases"].items()}
        rows = {}
        for size in args.sizes:
            rows[size] = _run_child(
                env,
                "--child-measure",
                cases[size],
                setup["coordinator"],
                cases[3],
                dump or "-",
            )
            r = rows[size]
            log(
                f"  {size:>5} entries: {r['scratch']['s']:.2f} s from scratch, "
                f"{r['added']['s']:.2f} s after one more, {r['scratch']['mb']:.0f} MB "
                f"(load {r['load']:.1f})"
            )
        rate = _run_child(
            env,
            "--child-throughput",
            setup["plan_case"],
            setup["coordinator"],
            THROUGHPUT_COUNT,
            dump or "-",
        )
    finally:
        drop()
        shutil.rmtree(workdir, ignore_errors=True)

    log()
    log("Incident log PDF: the whole task (queries, chain check, chart, render, merge, store)")
    log(
        f"{'':>28} | {'from scratch':^35} | {'after one more entry':^42} |"
        f"\n{'entries':>7} {'pages':>5} {'size':>7} {'chunks':>6} | {'wall s':>6} {'cpu s':>6} "
        f"{'idle s':>12} {'peak MB':>7} | {'wall s':>6} {'cpu s':>6} {'idle s':>12} {'chunks':>6} "
        f"{'peak MB':>7} | {'PDF/A':>5} {'load':>4}"
    )
    for size, r in rows.items():
        a, b = r["scratch"], r["added"]
        log(
            f"{size:>7} {r['pages']:>5} {r['bytes'] / 1024:>5.0f}kB {r['chunks']:>6} | "
            f"{a['s']:>6.2f} {a['cpu']:>6.2f} {_span(a):>12} {a['mb']:>7.0f} | "
            f"{b['s']:>6.2f} {b['cpu']:>6.2f} {_span(b):>12} {r['rerendered']:>6} "
            f"{b['mb']:>7.0f} | {r['pdfa'] or '-':>5} {r['load']:>4.1f}"
        )
    log(
        "wall s: measured; cpu s: CPU time of the worker process and its pool process; idle s: "
        "the wall time\nto expect on an idle machine, from below (the larger of the two CPU "
        "times: they work side by side)\nand from above (the wall time less the time the worker "
        "process waited for a CPU other processes had);\npeak MB: largest sum of the resident "
        "memory of the worker process, the fork server and the pool\nprocess; chunks (after one "
        "more entry): chunks rendered again; load: 1-minute load average before\nthe measurement "
        "(2 cores)."
    )
    log(
        f"One worker, {rate['count']} action plans in a row: {rate['seconds']:.1f} s = "
        f"{rate['per_minute']:.0f} PDFs per minute"
    )
    log()
    busy = any(r["load"] > (os.cpu_count() or 1) for r in rows.values())
    ok = True

    def judge(what: str, measured: float, limit: float, unit: str = "s", r=None):
        nonlocal ok
        if measured <= limit:
            verdict = "met"
        elif r is not None and r["idle_hi"] <= limit:
            verdict = f"met on an idle machine ({_span(r)} s); NOT met on this busy one"
        elif r is not None and r["idle_lo"] <= limit:
            verdict, ok = f"unclear: {_span(r)} s on an idle machine; NOT met on this one", False
        else:
            verdict, ok = "NOT met", False
        log(f"{what} <= {limit:g} {unit}: {measured:.2f} {unit}, {verdict}")

    for size, limit in TARGET_SCRATCH_S.items():
        if size in rows:
            r = rows[size]["scratch"]
            judge(f"{size} entries from scratch", r["s"], limit, r=r)
    for size, limit in TARGET_ADDED_S.items():
        if size in rows:
            r = rows[size]["added"]
            judge(f"{size} entries after one more entry", r["s"], limit, r=r)
    for size, limit in TARGET_PEAK_MB.items():
        if size in rows:
            peak = max(rows[size]["scratch"]["mb"], rows[size]["added"]["mb"])
            judge(f"{size} entries, peak memory", peak, limit, "MB")
    if busy:
        log("The machine was busy (load above the number of cores): wall times are inflated.")
    return 0 if ok else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=SIZES)
    parser.add_argument("--sqlite", action="store_true", help="use SQLite, not PostgreSQL")
    parser.add_argument("--dump", help="keep the PDFs in this directory")
    parser.add_argument("--child-setup", help=argparse.SUPPRESS)
    parser.add_argument("--child-measure", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--child-throughput", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_setup:
        print(json.dumps(child_setup([int(s) for s in args.child_setup.split(",")])))
        return 0
    if args.child_measure:
        case_id, coordinator, warm, dump = args.child_measure
        print(json.dumps(child_measure(int(case_id), int(coordinator), int(warm), _dir(dump))))
        return 0
    if args.child_throughput:
        case_id, coordinator, count, dump = args.child_throughput
        print(json.dumps(child_throughput(int(case_id), int(coordinator), int(count), _dir(dump))))
        return 0
    return driver(args)


def _dir(value: str) -> str:
    return "" if value == "-" else value


if __name__ == "__main__":
    sys.exit(main())
