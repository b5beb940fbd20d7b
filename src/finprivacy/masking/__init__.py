"""finprivacy.masking."""
