"""The HTML pipeline health report: assemble figures (build), draw SVG (charts), render."""
