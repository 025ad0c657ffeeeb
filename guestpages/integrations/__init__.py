"""Adapters to the outside services guest pages depend on (one per service)."""
