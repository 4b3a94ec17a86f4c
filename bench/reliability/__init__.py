"""The reliability catalogue at full scale: one runnable module per group of tests."""
