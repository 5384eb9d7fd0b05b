"""Evaluation kit: scripted dialogues with expectations checked by code (`cartsmith eval dialogues`)."""
