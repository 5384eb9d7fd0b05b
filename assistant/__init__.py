"""The conversation layer: requests, bundles, the language model, surfaces."""
