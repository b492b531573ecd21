"""The lake: where each layer's objects live (layout) and how they are stored (storage)."""
