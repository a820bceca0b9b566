"""Experiment runners shared by the chapters (grids of methods x seeds on one task)."""
