"""The matching domain: records, queries, results, the Matcher (with fusion, sections, explain)
and the ports of its adapters and stores; imports no framework, engine, model or transport."""
