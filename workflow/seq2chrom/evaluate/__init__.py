"""Evaluation of trained models: exact per-track metrics, curves and comparison plots."""
