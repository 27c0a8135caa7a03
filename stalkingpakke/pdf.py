"""The PDF documents: action plan, incident log, situation assessment and the advice leaflet.

- WeasyPrint makes archival PDF/A-3b files with the project's IBM Plex Sans embedded
  (static/css/pdf.css loads the TTFs with @font-face), and may fetch nothing but files under
  the project's static directory (`StaticOnlyFetcher`): no network, no other local files.
- The incident log can be long (thousands of entries), so it is made in parts: a front part
  (facts, chain check, timeline chart, counts), the chronology in chunks of entries (one
  block per entry: no table, grid or flex, which WeasyPrint lays out many times slower), and
  a back part (attachments). Chunk boundaries are chosen by the entries' own hashes
  (content-defined), so an added entry, also a back-dated one or a correction, changes only
  the chunk it falls into (and at most the next few). Rendered chunks are stored
  (IncidentLogChunk) under a key that hashes their HTML and the stylesheet, and are reused as
  long as nothing in them changes: an entry added at the end renders only the last chunk.
- Chunks to render go to a `Renderer`: this process and one pool process ("forkserver", so
  it is safe inside a Celery prefork child) render side by side on the two cores.
- The parts are merged with pikepdf into the front part, which keeps its PDF/A metadata and
  output intent, and every page gets its running head and "Side X af Y": a few text
  operators per page that all use one shared font subset (not a per-page overlay, which
  copies a font onto every page).

This module is imported by the pool's processes without Django being set up, so anything
that needs Django is imported inside the functions that build documents.
"""

import base64
import collections
import concurrent.futures
import contextlib
import dataclasses
import functools
import hashlib
import io
import logging
import mimetypes
import multiprocessing
import os
import threading
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import pikepdf
import weasyprint
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

logger = logging.getLogger(__name__)
# WeasyPrint reports every rendering step at INFO; a worker's log needs none of that.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

BASE_DIR = Path(__file__).resolve().parent.parent
STATIC_DIR = (BASE_DIR / "static").resolve()
BASE_URL = STATIC_DIR.as_uri() + "/"
PDF_CSS = STATIC_DIR / "css" / "pdf.css"
STAMP_FONT = STATIC_DIR / "vendor/dkfds/fonts/IBMPlexSans/complete/ttf/IBMPlexSans-Regular.ttf"
PDF_VARIANT = "pdf/a-3b"

# Chunks of the incident log: a chunk ends after an entry whose hash is 0 modulo the divisor
# (once it has CHUNK_MIN entries), or at CHUNK_MAX entries. About 110 entries on average.
CHUNK_MIN = 60
CHUNK_MAX = 180
CHUNK_DIVISOR = 60
# Below this many entries to render, a process pool costs more than it saves.
PARALLEL_MIN_ENTRIES = 150
POOL_WORKERS = min(2, os.cpu_count() or 1)

# Places on the referral list that the citizen's leaflet leaves out: they are for
# professionals or for people who stalk.
NOT_FOR_CITIZENS = {"dsc_professionals", "dsc_people_who_stalk", "local_police_contact"}

MM = 72 / 25.4
STAMP_SIZE = 7.5
STAMP_GREY = b"0.27 0.27 0.27 rg"


class RefusedURL(ValueError):
    """WeasyPrint asked for something outside the project's static files."""


class NothingToRender(Exception):
    """The document cannot be made yet; the message is shown to the user as it is."""


def static_file(url: str) -> Path:
    """The file under STATIC_DIR that a file:// URL names, or RefusedURL."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
        raise RefusedURL(f"only the project's static files may be fetched: {parts.scheme}")
    path = Path(url2pathname(unquote(parts.path))).resolve()
    if not path.is_relative_to(STATIC_DIR) or not path.is_file():
        raise RefusedURL("only the project's static files may be fetched")
    return path


class StaticOnlyFetcher(URLFetcher):
    """Serves files under static/ and data: URLs (the chart); refuses everything else."""

    def fetch(self, url, headers=None):
        if urlsplit(url).scheme.lower() == "data":
            return super().fetch(url, headers)
        path = static_file(url)
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(
            path.as_uri(), body=path.read_bytes(), headers={"Content-Type": content_type}
        )


def html_to_pdf(html: str) -> bytes:
    """One PDF/A document from HTML, styled by static/css/pdf.css.

    WeasyPrint compresses with zlib at level 9, a tenth of its time for a long document;
    qpdf's default level, when pikepdf writes the file again, makes it about 9 % faster in
    all and the file about 5 % larger."""
    font_config = FontConfiguration()
    fetcher = StaticOnlyFetcher()
    stylesheet = weasyprint.CSS(filename=str(PDF_CSS), url_fetcher=fetcher, font_config=font_config)
    document = weasyprint.HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher)
    raw = document.write_pdf(
        stylesheets=[stylesheet],
        font_config=font_config,
        pdf_variant=PDF_VARIANT,
        uncompressed_pdf=True,
    )
    with pikepdf.open(io.BytesIO(raw)) as pdf:
        out = io.BytesIO()
        pdf.save(out, compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.generate)
        return out.getvalue()


@functools.lru_cache(maxsize=1)
def _pool_context():
    context = multiprocessing.get_context("forkserver")
    # The fork server imports this module (and WeasyPrint) once; pool processes fork from it.
    context.set_forkserver_preload([__name__])
    return context


@contextlib.contextmanager
def _allow_children():
    """Let a Celery prefork child start the pool's processes. Celery's pool (billiard) puts
    its own process object in multiprocessing's place: it is marked daemonic, which
    multiprocessing refuses to give children, and its authkey is billiard's type, which
    multiprocessing refuses to send to a new process. Both are fine here: the pool's
    processes never outlive the task (the pool is shut down before the task returns, and
    they exit when their parent dies). So while they start, the flag is lifted and the key
    is multiprocessing's own type; both are put back afterwards."""
    config = multiprocessing.current_process()._config
    saved = dict(config)
    config["daemon"] = False
    if "authkey" in config:
        config["authkey"] = multiprocessing.process.AuthenticationString(config["authkey"])
    try:
        yield
    finally:
        config.clear()
        config.update(saved)


class Renderer:
    """Renders HTML documents to PDF; with parallel=True on two cores, one pool process
    helps. A feeder thread hands the pool process one job at a time from the front of the
    queue, the moment it is free; this process renders from the back of the queue while it
    gathers. So both cores work until the queue is empty, only one extra process is started,
    and jobs submitted early (while this process is still preparing the rest) are rendered
    at once.

        with Renderer(parallel=True) as renderer:
            index = renderer.submit(html)
            ...
            pdfs = renderer.gather()  # in the order submitted
    """

    def __init__(self, *, parallel: bool):
        self.parallel = parallel and POOL_WORKERS > 1
        self._jobs: list[str] = []
        self._queued: collections.deque[int] = collections.deque()
        self._results: dict[int, bytes] = {}
        self._errors: list[BaseException] = []
        self._busy = 0
        self._closed = False
        self._changed = threading.Condition()
        self._pool = None
        self._feeder = None

    def __enter__(self):
        if self.parallel:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=POOL_WORKERS - 1, mp_context=_pool_context()
            )
            self._feeder = threading.Thread(target=self._feed, name="pdf-feeder", daemon=True)
            self._feeder.start()
        return self

    def __exit__(self, *exc):
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        if self._feeder is not None:
            self._feeder.join()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, html: str) -> int:
        with self._changed:
            self._jobs.append(html)
            self._queued.append(len(self._jobs) - 1)
            self._changed.notify_all()
            return len(self._jobs) - 1

    def _feed(self) -> None:
        while True:
            with self._changed:
                while not self._closed and (self._busy or not self._queued):
                    self._changed.wait()
                if self._closed:
                    return
                index = self._queued.popleft()
                self._busy += 1
            try:
                with _allow_children():
                    future = self._pool.submit(html_to_pdf, self._jobs[index])
            except Exception:  # noqa: BLE001 (without the pool it is slower, never wrong)
                self._pool_failed(index)
                return
            future.add_done_callback(functools.partial(self._done, index))

    def _done(self, index: int, future: concurrent.futures.Future) -> None:
        try:
            result = future.result()
        except BrokenProcessPool:
            self._pool_failed(index)
            return
        except BaseException as exc:  # noqa: BLE001 (raised again by gather())
            with self._changed:
                self._errors.append(exc)
                self._busy -= 1
                self._changed.notify_all()
            return
        with self._changed:
            self._results[index] = result
            self._busy -= 1
            self._changed.notify_all()

    def _pool_failed(self, index: int) -> None:
        logger.warning("PDF process pool failed; rendering the rest in this process", exc_info=True)
        with self._changed:
            self._queued.appendleft(index)
            self._busy -= 1
            self._closed = True  # the feeder stops; gather() renders what is left
            self._changed.notify_all()

    def gather(self) -> list[bytes]:
        while True:
            with self._changed:
                if self._errors:
                    raise self._errors[0]
                if self._queued:
                    index = self._queued.pop()  # from the back: the pool takes the front
                elif self._busy:
                    self._changed.wait()
                    continue
                else:
                    break
            result = html_to_pdf(self._jobs[index])
            with self._changed:
                self._results[index] = result
        return [self._results[index] for index in range(len(self._jobs))]


def render_many(htmls: list[str], *, parallel: bool) -> list[bytes]:
    """Render independent documents (see Renderer)."""
    with Renderer(parallel=parallel and len(htmls) > 1) as renderer:
        for html in htmls:
            renderer.submit(html)
        return renderer.gather()


# -- merging, stamping, PDF/A --------------------------------------------------------------


@dataclasses.dataclass
class Stamp:
    """Running head and foot of the incident log; "{page}" and "{pages}" are filled in."""

    head_left: str
    head_right: str
    foot_left: str
    foot_right: str = "Side {page} af {pages}"

    def texts(self) -> list[str]:
        return [self.head_left, self.head_right, self.foot_left, self.foot_right]


@functools.lru_cache(maxsize=1)
def _stamp_font_metrics() -> tuple[dict[int, str], object, int]:
    from fontTools.ttLib import TTFont

    font = TTFont(str(STAMP_FONT), lazy=True)
    return font.getBestCmap(), font, font["head"].unitsPerEm


def _glyphs(text: str) -> list[tuple[int, int]]:
    """(glyph id, advance width in font units) per character. WeasyPrint keeps the font's
    glyph ids when it subsets, so these ids are valid in its embedded subset too."""
    cmap, font, _ = _stamp_font_metrics()
    hmtx = font["hmtx"]
    glyphs = []
    for char in text:
        name = cmap.get(ord(char)) or cmap[ord("?")]
        glyphs.append((font.getGlyphID(name), hmtx[name][0]))
    return glyphs


def _carrier_html(stamp: Stamp, pages: int) -> str:
    """A one-page document that uses every character the stamps need, so that WeasyPrint
    embeds one subset of the font with all of them (and their ToUnicode entries)."""
    from html import escape

    sample = "".join(stamp.texts()).replace("{page}", "").replace("{pages}", "")
    chars = sorted(set(sample + "0123456789 ?" + str(pages)))
    spaced = " ".join(escape(char) for char in chars if char != " ")
    return (
        '<!doctype html><html lang="da"><head><meta charset="utf-8"></head><body>'
        '<p style="font-weight: 400; font-style: normal; font-kerning: none; '
        f'font-variant-ligatures: none">{spaced}</p></body></html>'
    )


def _text_operator(text: str, x: float, y: float, *, right: bool = False) -> bytes:
    _, _, units = _stamp_font_metrics()
    glyphs = _glyphs(text)
    width = sum(advance for _, advance in glyphs) * STAMP_SIZE / units
    if right:
        x -= width
    hexes = "".join(f"{gid:04x}" for gid, _ in glyphs)
    return f"BT /SvStamp {STAMP_SIZE} Tf {x:.2f} {y:.2f} Td <{hexes}> Tj ET\n".encode()


def _stamp_font(carrier: pikepdf.Pdf):
    """The carrier's IBM Plex Sans Regular (a subset, tagged "ABCDEF+IBM-Plex-Sans")."""
    fonts = list(carrier.pages[0].obj.Resources.Font.values())
    for font in fonts:
        if str(font.get("/BaseFont", "")).endswith("+IBM-Plex-Sans"):
            return font
    raise ValueError(f"no IBM Plex Sans Regular in the stamp font carrier: {len(fonts)} fonts")


def _stamp_pages(pdf: pikepdf.Pdf, carrier: pikepdf.Pdf, stamp: Stamp) -> None:
    font = pdf.copy_foreign(_stamp_font(carrier))
    total = len(pdf.pages)
    for number, page in enumerate(pdf.pages, start=1):
        x0, y0, x1, y1 = (float(v) for v in page.mediabox)
        left, right = x0 + 17 * MM, x1 - 17 * MM
        head, foot = y1 - 13 * MM, y0 + 11 * MM
        foot_right = stamp.foot_right.format(page=number, pages=total)
        content = b"Q\nq\n" + STAMP_GREY + b"\n"
        content += _text_operator(stamp.head_left, left, head)
        content += _text_operator(stamp.head_right, right, head, right=True)
        content += _text_operator(stamp.foot_left, left, foot)
        content += _text_operator(foot_right, right, foot, right=True)
        content += b"Q\n"
        page.add_resource(font, pikepdf.Name.Font, pikepdf.Name("/SvStamp"))
        page.contents_add(pikepdf.Stream(pdf, b"q\n"), prepend=True)
        page.contents_add(pikepdf.Stream(pdf, content))


def ensure_pdfa(pdf: pikepdf.Pdf, template: pikepdf.Pdf) -> None:
    """Put the PDF/A metadata and output intent back if merging lost them."""
    for key in ("/Metadata", "/OutputIntents"):
        if key not in pdf.Root and key in template.Root:
            pdf.Root[key] = pdf.copy_foreign(template.Root[key])


def pdfa_claim(data: bytes) -> str | None:
    """The PDF/A claim ("3B") of a file whose XMP makes one and which has an output intent;
    None otherwise."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        metadata = pdf.open_metadata()
        part = metadata.get("pdfaid:part")
        if not part or "/OutputIntents" not in pdf.Root:
            return None
        return f"{part}{metadata.get('pdfaid:conformance', '')}"


def merge(parts: list[bytes], *, stamp: Stamp, outline: list[tuple[str, int]]) -> bytes:
    """Append parts[1:] to parts[0] (which keeps its PDF/A catalog), stamp every page with
    the running head and page numbers, add a simple outline, and write the file."""
    sources = [pikepdf.open(io.BytesIO(part)) for part in parts]
    base = sources[0]
    try:
        reference = pikepdf.open(io.BytesIO(parts[0]))
        sources.append(reference)
        for source in sources[1 : len(parts)]:
            base.pages.extend(source.pages)
        carrier = pikepdf.open(io.BytesIO(html_to_pdf(_carrier_html(stamp, len(base.pages)))))
        sources.append(carrier)
        _stamp_pages(base, carrier, stamp)
        with base.open_outline() as tree:
            tree.root.clear()
            tree.root.extend(pikepdf.OutlineItem(title, page) for title, page in outline)
        ensure_pdfa(base, reference)
        out = io.BytesIO()
        base.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)
        return out.getvalue()
    finally:
        for source in sources:
            source.close()


def page_count(data: bytes) -> int:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        return len(pdf.pages)


# -- building the documents (Django from here on) --------------------------------------------

WEEKDAYS = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")


@dataclasses.dataclass
class Rendered:
    content: bytes
    chain_hash: str = ""
    # What it was made from (Document.data_version): the plan's or assessment's version, the
    # incident log's newest entry in it.
    data_version: int | None = None


def _when(value) -> str:
    from django.utils import timezone

    value = timezone.localtime(value)
    return f"{value:%d.%m.%Y} kl. {value:%H:%M}"


def _day(value) -> str:
    return f"{value:%d.%m.%Y}" if value else ""


def _name(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else ""


def _render(template: str, context: dict) -> str:
    from django.template.loader import render_to_string
    from django.utils import translation

    with translation.override("da"):
        return render_to_string(template, context)


def _common(document) -> dict:
    from django.utils import timezone

    case = document.case
    return {
        "case": case,
        "document": document,
        "produced": _when(timezone.now()),
        "requested_by": _name(document.requested_by),
        "responsible": _name(case.responsible),
    }


def css_string(value: str) -> str:
    """A quoted CSS string with everything but plain letters, digits and a little punctuation
    escaped, so text can go into a <style> element (running heads) and never break out."""
    safe = set(" .,:-·/()")
    return (
        '"'
        + "".join(char if char.isalnum() or char in safe else f"\\{ord(char):x} " for char in value)
        + '"'
    )


def _single(document, title: str, *, head: str | None = None) -> dict:
    """Context of a document made in one piece, with its running head."""
    from django.utils.safestring import mark_safe

    common = _common(document)
    head = head if head is not None else f"{title} · sag {document.case.reference}"
    return {
        **common,
        "title": title,
        "head_css": mark_safe(css_string(head)),  # noqa: S308 (escaped by css_string)
        "date_css": mark_safe(css_string(f"Udskrevet {common['produced']}")),  # noqa: S308
    }


def _text(value) -> str:
    from .content import text

    return text(value, "da")


def render(document) -> Rendered:
    """The PDF of a Document (its kind decides which)."""
    from .models import DocumentKind

    renderers = {
        DocumentKind.ACTION_PLAN: action_plan_pdf,
        DocumentKind.INCIDENT_LOG: incident_log_pdf,
        DocumentKind.ASSESSMENT: assessment_pdf,
        DocumentKind.ADVICE: advice_pdf,
        DocumentKind.SUBJECT_ACCESS: subject_access_pdf,
    }
    return renderers[document.kind](document)


def subject_access_pdf(document) -> Rendered:
    """The citizen's copy, collected when the worker makes it: the case as it is then."""
    from cases import subject_access

    data = subject_access.collect(document.case, produced_by=document.requested_by)
    return Rendered(subject_access.to_pdf(data))


def action_plan_pdf(document) -> Rendered:
    from django.db import transaction

    from .models import ActionPlan, ActionStatus

    # The plan and its items as one version: a save (which locks the plan row too,
    # services.save_action_plan) waits the moment it takes to read them, so the version the
    # document records is the one it shows.
    with transaction.atomic():
        plan = (
            ActionPlan.objects.select_for_update(of=("self",))
            .select_related("tool_version")
            .filter(case=document.case)
            .first()
        )
        if plan is None:
            raise NothingToRender("Sagen har endnu ingen handleplan. Udfyld den, og prøv igen.")
        plan_items = list(plan.items.all())
    content = plan.tool_version.content
    statuses = {key: str(label) for key, label in ActionStatus.choices}
    statuses.update({c["key"]: _text(c["label"]) for c in content.get("status_choices", [])})
    items = [
        {
            "who": item.who,
            "what": item.what,
            "deadline": _day(item.deadline),
            "status": statuses.get(item.status, item.status),
        }
        for item in plan_items
    ]
    context = {
        **_single(document, _text(content.get("title")) or "Handleplan"),
        "plan": plan,
        "items": items,
        "next_review": _day(plan.next_review),
        "updated": _when(plan.updated_at),
    }
    return Rendered(
        html_to_pdf(_render("pdf/action_plan.html", context)), data_version=plan.version
    )


def _answer(field: dict, value) -> str:
    if value in (None, "", []):
        return ""
    kind = field.get("type")
    if kind == "yesno":
        return {"yes": "Ja", "no": "Nej", "unknown": "Ved ikke"}.get(value, str(value))
    choices = {c["key"]: _text(c["label"]) for c in field.get("choices", [])}
    if kind == "multichoice":
        return ", ".join(choices.get(v, str(v)) for v in value)
    if kind == "choice":
        return choices.get(value, str(value))
    if kind == "date":
        try:
            year, month, day = str(value)[:10].split("-")
            return f"{day}.{month}.{year}"
        except ValueError:
            return str(value)
    return str(value)


def assessment_pdf(document) -> Rendered:
    from .models import ToolKind
    from .services import latest_form, risk_summary

    form = latest_form(document.case, ToolKind.ASSESSMENT)
    if form is None:
        raise NothingToRender("Afdækningen er ikke udfyldt endnu. Udfyld den, og prøv igen.")
    content = form.tool_version.content
    answers = form.answers
    sections = [
        {
            "heading": _text(section.get("heading")),
            "fields": [
                {"label": _text(field.get("label")), "answer": _answer(field, answers.get(key))}
                for field in section.get("fields", [])
                for key in [field["key"]]
            ],
        }
        for section in content.get("sections", [])
    ]
    summary = risk_summary(form)
    risk_answers = {"yes": "Ja", "no": "Nej", "unknown": "Ved ikke"}
    indicators = [
        {
            "text": _text(indicator.get("text")),
            "answer": risk_answers.get(answers.get(f"risk:{indicator['key']}"), "Ikke besvaret"),
            "yes": answers.get(f"risk:{indicator['key']}") == "yes",
            "high": bool(indicator.get("high_risk")),
        }
        for indicator in content.get("risk_indicators", [])
    ]
    context = {
        **_single(document, _text(content.get("title")) or "Afdækning af situationen"),
        "form": form,
        "updated": _when(form.updated_at),
        "sections": sections,
        "indicators": indicators,
        "summary": {
            "level": summary["level"],
            "present": [_text(r.get("text")) for r in summary["present"]],
            "high": [_text(r.get("text")) for r in summary["high"]],
            "unknown": summary["unknown"],
        },
        "guidance": _text(content.get("risk_guidance", {}).get(summary["level"])),
        "disclaimer": _text(content.get("disclaimer")),
    }
    return Rendered(html_to_pdf(_render("pdf/assessment.html", context)), data_version=form.version)


def advice_pdf(document) -> Rendered:
    from .models import ToolKind, ToolVersion

    advice = ToolVersion.objects.current(ToolKind.ADVICE)
    if advice is None:
        raise NothingToRender("Rådene er ikke indlæst i systemet. Kontakt administrationen.")
    referrals = ToolVersion.objects.current(ToolKind.REFERRAL_LIST)
    content = advice.content
    contacts = [
        {
            "name": _text(entry.get("name")),
            "what": _text(entry.get("what")),
            "phone": entry.get("phone", ""),
            "web": entry.get("web", ""),
        }
        for entry in (referrals.content.get("entries", []) if referrals else [])
        if (entry.get("phone") or entry.get("web")) and entry.get("key") not in NOT_FOR_CITIZENS
    ]
    title = _text(content.get("title")) or "Gode råd"
    context = {
        # The leaflet goes home with the citizen: no case number on it.
        **_single(document, title, head=title),
        "intro": _text(content.get("intro")),
        "items": [
            {"heading": _text(item.get("heading")), "text": _text(item.get("text"))}
            for item in content.get("items", [])
        ],
        "contacts": contacts,
        "version": advice.number,
    }
    return Rendered(html_to_pdf(_render("pdf/advice.html", context)))


# -- the incident log ----------------------------------------------------------------------


def behaviour_labels() -> dict[str, str]:
    """Labels from the current incident-log tool content, else the fixed list's own."""
    from .models import Behaviour, ToolKind, ToolVersion

    labels = {key: str(label) for key, label in Behaviour.choices}
    tool = ToolVersion.objects.current(ToolKind.INCIDENT_LOG)
    if tool is not None:
        for item in tool.content.get("behaviours", []):
            if item.get("key") in labels:
                labels[item["key"]] = _text(item.get("label")) or labels[item["key"]]
    return labels


def iter_chunks(entries):
    """Content-defined chunks: where a chunk ends depends only on the entries themselves
    (an entry whose hash is 0 modulo CHUNK_DIVISOR ends a chunk of at least CHUNK_MIN; no
    chunk is longer than CHUNK_MAX), so an entry added anywhere changes only its own chunk
    and, at most, the next few."""
    current = []
    for entry in entries:
        current.append(entry)
        at_boundary = int(entry.entry_hash[:8], 16) % CHUNK_DIVISOR == 0
        if len(current) >= CHUNK_MAX or (at_boundary and len(current) >= CHUNK_MIN):
            yield current
            current = []
    if current:
        yield current


def split_chunks(entries: list) -> list[list]:
    return list(iter_chunks(entries))


@dataclasses.dataclass(slots=True)
class LogItem:
    """What the PDF needs of one entry, so the model instances need not be kept."""

    pk: int
    entry_hash: str
    occurred_at: object
    behaviours: list
    correction: bool
    row: dict | None


def _entry_row(entry, labels: dict[str, str]) -> dict:
    """Plain strings for one entry. The chunk template is a flat loop of four paragraphs per
    entry with no inline markup: WeasyPrint's time grows with boxes and lines."""
    from django.utils import timezone

    when = timezone.localtime(entry.occurred_at)
    head = f"{WEEKDAYS[when.weekday()]} {when:%d.%m.%Y} kl. {when:%H:%M}"
    if entry.place:
        head += f" · {entry.place}"
    head += f" · nr. {entry.sequence}"
    if entry.behaviours:
        head += " — " + "; ".join(labels.get(kind, kind) for kind in entry.behaviours)
    meta = []
    if entry.witnesses:
        meta.append(f"Vidner: {entry.witnesses}")
    if entry.evidence:
        meta.append(f"Beviser: {entry.evidence}")
    names = [a.original_name for a in entry.attachments.all()]
    if names:
        meta.append(f"Bilag: {', '.join(names)}")
    if entry.reported_to_police:
        number = entry.police_journal_number
        meta.append("Anmeldt til politiet" + (f", journalnr. {number}" if number else ""))
    if entry.effect:
        meta.append(f"Påvirkning: {entry.effect}")
    fix = ""
    if not entry.supersedes_id:
        meta.append(f"Registreret {_when(entry.created_at)} af {_name(entry.created_by)}")
    else:
        fix = (
            f"Rettet {_when(entry.created_at)} af {_name(entry.created_by)} "
            f"(erstatter nr. {entry.supersedes.sequence}): {entry.correction_reason}"
        )
    return {"head": head, "text": entry.what_happened, "meta": " · ".join(meta), "fix": fix}


def log_items(case, labels: dict[str, str], upto: int | None = None):
    """The current entries in time order, as LogItems (streamed from the database); with
    `upto`, as they stood when entry `upto` was the newest."""
    from .incident_log import current_entries

    for entry in current_entries(case, upto).iterator(chunk_size=100):
        yield LogItem(
            pk=entry.pk,
            entry_hash=entry.entry_hash,
            occurred_at=entry.occurred_at,
            behaviours=entry.behaviours,
            correction=bool(entry.supersedes_id),
            row=_entry_row(entry, labels),
        )


@functools.lru_cache(maxsize=1)
def _layout_salt() -> bytes:
    """What else shapes a chunk besides its HTML: the stylesheet and the WeasyPrint version."""
    return hashlib.sha256(PDF_CSS.read_bytes() + weasyprint.__version__.encode()).digest()


def chunk_key(html: str) -> str:
    """The key a rendered chunk is stored under: its HTML (so its entries' text, and through
    the entry numbers and hashes their place in the chain) and how it is laid out."""
    return hashlib.sha256(_layout_salt() + html.encode()).hexdigest()


def _read_chunk(chunk) -> bytes | None:
    if chunk is None:
        return None
    try:
        with chunk.file.open("rb") as handle:
            return handle.read()
    except OSError:
        logger.warning("Stored log chunk %s is unreadable; rendering it again", chunk.pk)
        return None


def _store_chunk(case, index: int, key: str, entry_count: int, body: bytes) -> None:
    from django.core.files.base import ContentFile
    from django.db import IntegrityError, transaction

    from .models import IncidentLogChunk

    chunk = IncidentLogChunk.objects.filter(case=case, content_key=key).first()
    if chunk is not None:  # its file was unreadable: write it again
        chunk.file.save(chunk.file.name.rsplit("/", 1)[-1], ContentFile(body), save=True)
        return
    chunk = IncidentLogChunk(case=case, index=index, content_key=key, entry_count=entry_count)
    chunk.file.save(f"{case.pk}-{key[:24]}.pdf", ContentFile(body), save=False)
    try:
        with transaction.atomic():
            chunk.save()
    except IntegrityError:  # another render stored the same chunk just now
        chunk.file.delete(save=False)


def _prune_chunks(case, keep: set[str], before) -> None:
    """Forget the stored chunks this log no longer uses (made before this render began, so
    a render running at the same time keeps what it just made)."""
    from .models import IncidentLogChunk

    stale = IncidentLogChunk.objects.filter(case=case, created_at__lt=before).exclude(
        content_key__in=keep
    )
    for chunk in stale:
        chunk.file.delete(save=False)
        chunk.delete()


def incident_log_pdf(document) -> Rendered:
    """Front part, chronology chunks and back part; merged, stamped, PDF/A.

    The entries are streamed from the database chunk by chunk; a chunk that is stored
    already is read, a new one goes to the renderer at once, so the pool process renders
    while this process reads on and then makes the chart and the front and back parts."""
    from django.utils import timezone

    from .chart import timeline_svg
    from .incident_log import last_sequence, verify_chain
    from .models import Attachment, IncidentLogChunk

    started = timezone.now()
    case = document.case
    # The log as it stands now: entries made while this renders are left for the next PDF,
    # which the case page then says is due (documents.with_outdated).
    upto = last_sequence(case)
    labels = behaviour_labels()
    stored = {chunk.content_key: chunk for chunk in IncidentLogChunk.objects.filter(case=case)}
    current = case.incidents.filter(superseded_by__isnull=True).count()
    items, keys, parts, jobs = [], [], [], {}
    with Renderer(parallel=current >= PARALLEL_MIN_ENTRIES) as renderer:
        for index, chunk in enumerate(iter_chunks(log_items(case, labels, upto))):
            items += chunk
            html = _render(
                "pdf/incident_log_chunk.html",
                {"first": index == 0, "entries": [item.row for item in chunk]},
            )
            keys.append(chunk_key(html))
            parts.append(_read_chunk(stored.get(keys[-1])))
            if parts[-1] is None:
                jobs[index] = (renderer.submit(html), len(chunk))
            for item in chunk:
                item.row = None  # rendered or stored: the strings are not needed any more
        chain = verify_chain(case, upto)
        counts = dict.fromkeys(labels, 0)
        for item in items:
            for kind in item.behaviours:
                counts[kind] = counts.get(kind, 0) + 1
        in_log = {item.pk for item in items}
        attachments = [
            {
                "seq": a.entry.sequence,
                "when": _when(a.entry.occurred_at),
                # When the file came in: evidence stored long after the event shows as such.
                "stored": _when(a.created_at),
                "name": a.original_name,
                "type": a.content_type,
                "size": a.size,
                "sha256": a.sha256,
                "superseded": a.entry_id not in in_log,
            }
            for a in Attachment.objects.filter(entry__case=case, entry__sequence__lte=upto)
            .select_related("entry")
            .order_by("entry__occurred_at", "entry__sequence", "pk")
        ]
        chart = timeline_svg(items, labels) if items else ""
        common = _common(document)
        front = renderer.submit(
            _render(
                "pdf/incident_log_front.html",
                {
                    **common,
                    "chain": chain,
                    "entries_count": len(items),
                    "corrections": sum(1 for item in items if item.correction),
                    "first": _day(timezone.localtime(items[0].occurred_at)) if items else "",
                    "last": _day(timezone.localtime(items[-1].occurred_at)) if items else "",
                    "counts": [(labels[k], n) for k, n in counts.items() if n],
                    "chart": base64.b64encode(chart.encode()).decode() if chart else "",
                },
            )
        )
        back = renderer.submit(
            _render(
                "pdf/incident_log_back.html",
                {**common, "attachments": attachments, "chain_hash": chain.final_hash},
            )
        )
        del items
        results = renderer.gather()
    for index, (job, entry_count) in jobs.items():
        parts[index] = results[job]
        _store_chunk(case, index, keys[index], entry_count, results[job])
    front_pages = page_count(results[front])
    body_pages = sum(page_count(part) for part in parts)
    stamp = Stamp(
        head_left=f"Logskema · sag {case.reference}",
        head_right=f"Udskrevet {common['produced']}",
        foot_left=f"Kædens sluthash: {chain.final_hash}"
        + ("" if chain.intact else " (kæden er brudt)"),
    )
    outline = [("Oversigt", 0)]
    if parts:
        outline.append(("Kronologi", front_pages))
    outline.append(("Bilag og beviser", front_pages + body_pages))
    content = merge([results[front], *parts, results[back]], stamp=stamp, outline=outline)
    _prune_chunks(case, set(keys), started)
    return Rendered(content, chain_hash=chain.final_hash, data_version=upto)
