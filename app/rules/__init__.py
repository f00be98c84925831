"""Detection rules: loading (YAML and Sigma), matching events, signals and stories."""
