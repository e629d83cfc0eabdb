"""Motif annotation of first-layer filters.

`filters` (the filter-pwms step: model and split file in, three files out), `pwms` (filters ->
sites -> PWMs, Basset's rule), `influence` (Basset's filter influence), `meme` (MEME minimal
format), `jaspar` (JASPAR
from pyjaspar, offline), `tomtom` (Tomtom as MEME 5.4.1 computes it, numba),
`logos` (fast information-content logos), `summary` (per-filter table and HTML).
"""
