"""Authenticator apps (TOTP): factors, codes, recovery codes and challenges (SPEC 21)."""
