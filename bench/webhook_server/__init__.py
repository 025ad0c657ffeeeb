"""The benchmark's server-side pieces: a settings override and a bare-insert baseline view."""
