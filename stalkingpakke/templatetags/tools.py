from django import template

from stalkingpakke.content import text

register = template.Library()


@register.filter
def tr(value):
    """Render a {"da": ..., "en": ...} tool text in the active language."""
    return text(value)
