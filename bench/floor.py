"""The floor: the cheapest page the stack can serve (one query, a five-line template)."""

from django.shortcuts import render

from cooperation.models import Organisation


def floor(request):
    organisation = Organisation.objects.get(pk=1)
    return render(request, "bench/floor.html", {"organisation": organisation})
