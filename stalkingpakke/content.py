"""The default tool content (stalkingpakke/content/default.json) and reading its texts."""

import json
from functools import lru_cache
from pathlib import Path

from django.utils import translation

DEFAULT_FILE = Path(__file__).resolve().parent / "content" / "default.json"


@lru_cache(maxsize=1)
def default_content() -> dict:
    return json.loads(DEFAULT_FILE.read_text(encoding="utf-8"))


def load_defaults(tool_version_model, kinds) -> int:
    """Create version 1 of every tool that has no version yet. Never overwrites local edits."""
    content = default_content()
    created = 0
    for kind in kinds:
        if kind in content and not tool_version_model.objects.filter(kind=kind).exists():
            tool_version_model.objects.create(
                kind=kind, number=1, content=content[kind], change_note="Standardindhold"
            )
            created += 1
    return created


def text(value, language: str | None = None) -> str:
    """A {"da": ..., "en": ...} text in the active language, Danish when missing."""
    if isinstance(value, dict):
        language = language or translation.get_language() or "da"
        return value.get(language[:2]) or value.get("da") or ""
    return "" if value is None else str(value)
