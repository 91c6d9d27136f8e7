"""The one exception type for "this clip cannot be used": subclasses say which stage refused it."""


class ClipError(ValueError):
    """A clip that cannot be used, with the reason (the caller adds the file name)."""
