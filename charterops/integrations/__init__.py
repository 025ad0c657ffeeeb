"""Adapters to outside services used by more than one app (one adapter per service)."""
