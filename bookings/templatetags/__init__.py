"""Template tags of the booking admin."""
