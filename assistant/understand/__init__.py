"""Understanding a turn: the tuned parser, its JSON guide, and the English rules read by code."""
