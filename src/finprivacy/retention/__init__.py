"""finprivacy.retention."""
