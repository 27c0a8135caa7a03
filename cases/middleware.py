from django.utils.cache import add_never_cache_headers


class NoStoreMiddleware:
    """Pages of a logged-in user may show personal data: never let a browser or proxy keep
    them. Static files are served before this by WhiteNoise and stay cacheable."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, "user", None) is not None and request.user.is_authenticated:
            add_never_cache_headers(response)
            response["Cache-Control"] = "no-store, private"
        return response
