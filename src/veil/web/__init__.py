"""The web side: the admin API, the privacy notice, the end user's privacy portal and the
admin dashboard. Server-rendered (Jinja2), no scripts."""
