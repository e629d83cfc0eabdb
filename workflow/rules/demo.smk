# demo stage rules (to be written)
