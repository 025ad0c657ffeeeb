"""Crew: members, assignments, notifications, checklists, photos, expenses and crew pages."""
