"""Layer 5, workflow: geometry builders, TOML configs, result files, plots, sweeps, reference-data
comparison, the validation runner and the command line. Nothing below imports from here.
"""
