"""Data build: reference genome -> 200 bp bins -> per-track labels -> one-hot windows.

Modules: `genome` (FASTA reading), `peaks` (BED/narrowPeak/broadPeak reading), `bins` (tiling),
`labels` (per-bin peak coverage), `assemble` (label matrix, selection, split), `one_hot`
(sequence encoding), `encode` (split files of one-hot windows), `summary` (samples and positives
per split).
"""
