"""External sources of funding calls, one module per source: fetch (politely, with retries),
parse and map each item to a record of the import format with its provenance.

``eu_ft``: the EU Funding & Tenders portal's search service. ``haeavustuksia``: Finnish state
grants. Built by ``factory.build_sources``; synced by ``simatch.services.sources``.
"""
