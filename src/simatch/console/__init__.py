"""The staff console: a web UI at /console for the people who curate simatch, served by
``simatch serve`` on the same services as the API (no second backend).

Server-rendered Jinja2 pages; htmx (vendored, ``static/htmx``) swaps parts of a page where
that saves a reload, and every page works without JavaScript. Staff sign in with an API key
of scope curate, exchanged for a session cookie (``security.py``); every form carries the
session's CSRF token. Texts come from the one message catalogue (``chat/catalogue``), in
Finnish, English and Swedish.
"""
