"""finprivacy.crypto."""
