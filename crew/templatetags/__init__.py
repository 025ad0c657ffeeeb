"""Template tags of the crew pages."""
