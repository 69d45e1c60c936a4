from .context import channel


class RequestChannelMiddleware:
    """Marks writes made during a request as coming from the API or the web UI."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with channel("api" if request.path.startswith("/api/") else "ui"):
            return self.get_response(request)
