"""The matching domain: records, queries, results, the Matcher and its ports.

Imports no web framework, chat SDK, vector engine or model library.
"""
