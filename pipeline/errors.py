"""The exception types for "this clip cannot be used" (subclasses say which stage refused it) and
"what a command was given cannot be used"."""


class ClipError(ValueError):
    """A clip that cannot be used, with the reason (the caller adds the file name)."""


class InputError(RuntimeError):
    """A path a command was given cannot be read as clips (missing, or a folder with none)."""
