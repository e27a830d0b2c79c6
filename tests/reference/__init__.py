"""Reference implementations that ragdsl's numbers are checked against (not ragdsl's code)."""
