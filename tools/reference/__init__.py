"""Independent PyTorch reference of CosyVoice 2 inference (written from the spec, not copied from upstream).

Used only for export, quantisation and test fixtures; never at runtime.
"""
