"""The consultation (sparring) count on the answerers' start pages
(templates/consultations/waiting_notice.html)."""

from django import template

from cooperation.consultations import consultations_waiting_count

register = template.Library()


@register.simple_tag(takes_context=True)
def consultations_waiting(context) -> int | None:
    """How many questions wait for the user's answer (one COUNT query); None, without a
    query, for a user whose roles answer none."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return consultations_waiting_count(user)
