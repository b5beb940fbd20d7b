"""finprivacy.rights."""
