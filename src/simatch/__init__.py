"""simatch: matchmaking for social innovation (solutions, peers and funders for a problem)."""

__version__ = "0.1.0"
