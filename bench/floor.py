"""The floors: the cheapest pages the stack can serve.

`floor` is the issue's baseline: one query, a five-line template. `floor_audited` adds what
no page with case data may leave out (a logged-in user and one audit entry for the read), so
the bench shows how much of a page's cost is that minimum and how much is the page itself.
"""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from cases import audit
from cooperation.models import Organisation


def floor(request):
    organisation = Organisation.objects.get(pk=1)
    return render(request, "bench/floor.html", {"organisation": organisation})


@login_required
def floor_audited(request):
    organisation = Organisation.objects.get(pk=1)
    audit.record_list_read(user=request.user, name="bench_floor", purpose="bench", request=request)
    return render(request, "bench/floor.html", {"organisation": organisation})
