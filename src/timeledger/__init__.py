"""timeledger: a self-hostable ledger of billable work for people and AI agents."""

__version__ = "0.1.0"
