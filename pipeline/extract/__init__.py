"""Takes -> feature tables: pure functions over decoded audio, frames and external tables."""
