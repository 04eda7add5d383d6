"""The SQLite stores: one file each under the data directory, opened with the shared
connection settings of ``connection.py`` (WAL, so a CLI process can write while a server reads)."""
