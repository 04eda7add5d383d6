"""SQLite stores under the data directory: API keys and the match/feedback log."""
