"""The fan-out engine: each booking converges on every registered target, with retries."""
