"""Alerts for followed needs: reverse matching of new records (``detector``), the hook into
imports (``hook``), the dispatcher of the outbox (``dispatcher``) and one sender per channel
(``senders/``). The store is a port (``simatch.domain.alerts``); the use cases are
``simatch.services.alerts``."""
