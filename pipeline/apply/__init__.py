"""Trained models -> answers on new clips: loading them (ensemble), predict and evaluate."""
