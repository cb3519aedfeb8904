"""The audit log: who changed what, when and through which surface (trail.py records it,
service.py reads it)."""
