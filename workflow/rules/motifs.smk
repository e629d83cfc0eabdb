# motifs stage rules (to be written)
