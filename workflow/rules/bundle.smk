# bundle import rules (to be written)
