"""The charter's departure and return record: readings, orientation, damage, and its PDF."""
