"""The operator console (SPEC section 12): HTML pages and forms at /admin."""
