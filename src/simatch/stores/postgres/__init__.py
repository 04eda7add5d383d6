"""The PostgreSQL stores: the same ports as ``sqlite/``, for state shared by replicas.

``database.py`` holds the connection pool, the error mapping and advisory locks;
``migrations.py`` the versioned schema, applied at start under an advisory lock;
``schema.py`` lists every store's migrations. How a new store gets both backends:
docs/stores.md.
"""
