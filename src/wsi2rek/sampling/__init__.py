"""Samplers that plan patches: object-centred, background and grid; split by slide."""
