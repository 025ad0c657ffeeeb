"""Adapters for the crew app's outside services: SMS and topics (SNS), the legacy SCC tables."""
