"""The language model: loading (GGUF -> HF folder, NF4, adapter), guided decoding, lean LoRA serving."""
