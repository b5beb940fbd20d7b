"""finprivacy.consent."""
