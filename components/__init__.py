"""eventstack's components: one ComponentResource per concern, plus the typed stack config."""
