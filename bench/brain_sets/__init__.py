"""Caller dialogs for bench/brain.py: one module per company's tool set, as that company would write it."""
