"""LoRA / QLoRA fine-tuning of the assistant's language model (CPU-friendly, time-boxed)."""
