"""What a trained model learned, read through per-base attributions and the motifs found in them.

`methods`: per-base contribution scores of one track (gradient x input, expected gradients,
in-silico mutagenesis), arrays in, arrays out. `shuffle`: dinucleotide-shuffled references.
`scores`: the attributions file ``results/attributions/{model}/{track}.h5`` (its one writer and
reader) and the windows it scores. `modisco`: TF-MoDISco (modisco-lite) on those scores, its
patterns as MEME motifs matched to JASPAR with seq2chrom's Tomtom. `report`: the report's
"Motifs (TF-MoDISco)" pages.

This package sits above `seq2chrom.inference` (it scores windows with the one predictor and
reuses its in-silico mutagenesis) and below the CLI.
"""
