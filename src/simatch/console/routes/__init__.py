"""The console's pages, one module per area; each reads the services of ``api/deps.py``."""
