"""finprivacy.identifiers."""
