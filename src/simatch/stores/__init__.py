"""Stores behind the ports of ``simatch.domain.stores`` (match and feedback log, gaps, API keys,
duplicate flags): ``sqlite/`` holds the SQLite implementations, ``factory`` builds them."""
