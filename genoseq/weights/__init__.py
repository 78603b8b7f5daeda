"""Shipped model weights (state_dict .pt + JSON config); see README.md here."""
