"""The monthly (joint) report: figures with provenance, statistics, PDF (docs/analysis.md)."""
