"""finprivacy.access."""
