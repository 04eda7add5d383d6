"""ASGI middleware of the API: ``observe`` (request id, metrics, access log, last-resort 500)
and ``body_limit`` (413 for bodies over the limit)."""
