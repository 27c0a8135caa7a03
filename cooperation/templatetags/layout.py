"""The page chrome that is the same for everybody with the same roles: rendered once per
process and kept, instead of on every request (the menu is drawn twice on each page, for
wide and narrow screens, and was a tenth of a list page's time). It holds no personal data:
only which links the user's roles show and which one is the current page."""

from functools import cache, lru_cache

from django import template
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

register = template.Library()

# (key, url name): the menu's links; the template decides which ones a user's roles show.
MENU = (
    ("triage", "cases:triage_dashboard"),
    ("cases", "cases:my_cases"),
    ("municipality_cases", "cases:municipality_cases"),
    ("partner", "cases:partner_cases"),
    ("refer", "cases:referral_create"),
    ("referrals", "cases:my_referrals"),
    ("directory", "directory"),
    ("statistics", "statistics"),
    ("audit", "audit:search"),
    ("retention", "retention:overview"),
    ("package", "stalkingpakke:index"),
    ("consultations", "consultations:list"),
)


@cache
def _menu_urls() -> dict[str, str]:
    return {key: reverse(name) for key, name in MENU}


@lru_cache(maxsize=512)
def _render_menu(language, roles, can_refer, can_audit, can_retention, has_roles, current) -> str:
    context = {
        "nav_roles": roles,
        "nav_can_refer": can_refer,
        "nav_can_audit": can_audit,
        "nav_can_retention": can_retention,
        "nav_has_roles": has_roles,
        "current": current,
        "urls": _menu_urls(),
    }
    return render_to_string("includes/mainmenu.html", context)


@register.simple_tag(takes_context=True)
def main_menu(context):
    path = context["request"].path
    current = next((key for key, url in _menu_urls().items() if url == path), None)
    return mark_safe(  # noqa: S308 - rendered by the template engine, which escaped it
        _render_menu(
            get_language(),
            frozenset(context.get("nav_roles", ())),
            bool(context.get("nav_can_refer")),
            bool(context.get("nav_can_audit")),
            bool(context.get("nav_can_retention")),
            bool(context.get("nav_has_roles")),
            current,
        )
    )
