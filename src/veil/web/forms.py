"""Reading the pages' own form posts: small, URL-encoded, and from this site only.

A post is taken only when the browser does not say it comes from another site, and the
handler then checks the session's CSRF token (`Session.accepts`). With SameSite=Strict
cookies on top, a page elsewhere can neither ride on a session nor forge a form.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request

MAX_FORM_BYTES = 16 * 1024
_URLENCODED = "application/x-www-form-urlencoded"


async def read_form(request: Request) -> dict[str, str] | None:
    """The fields of a form posted from this site; None when it is not one."""
    if not from_this_site(request):
        return None
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != _URLENCODED:
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=32))
    except ValueError:  # not UTF-8, or too many fields
        return None


def from_this_site(request: Request) -> bool:
    """False when the browser says the request comes from elsewhere.

    Fetch metadata first: browsers send `Sec-Fetch-Site` whatever the referrer policy,
    whereas under our `Referrer-Policy: no-referrer` they send even a same-origin form's
    Origin as "null". Then the Origin, when it names one.
    """
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True
    return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()
