# report stage rules (to be written)
