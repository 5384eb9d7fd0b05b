"""Surfaces: HTTP API, command line, terminal chat, the Gradio UI module."""
