"""Guardrails: input limits, PII redaction, injection and off-topic detection, grounding checks."""
