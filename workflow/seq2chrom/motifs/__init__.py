"""Motif annotation of first-layer filters.

`pwms` (filters -> PWMs, sites, influence), `meme` (MEME minimal format), `jaspar` (JASPAR
from pyjaspar, offline), `tomtom` (Tomtom with a Pearson column score via memelite),
`logos` (fast information-content logos), `summary` (per-filter table and HTML).
"""
