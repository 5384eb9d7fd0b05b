"""Wording a bundle: the model writer, its guided decoding and checks, the template wording."""
