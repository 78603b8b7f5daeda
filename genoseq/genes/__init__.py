"""Prokaryotic gene finding: candidate ORFs, the coding model and the decoder."""
