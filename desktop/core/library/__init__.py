"""The document library: chat with your files, and recall of past conversations.

See :class:`desktop.core.library.library.Library`.
"""

from desktop.core.library.library import (
    DEFAULT_COLLECTION,
    CollectionInfo,
    FileStatus,
    Library,
    LibraryBusy,
    LibraryError,
    SkippedFile,
)

__all__ = ["DEFAULT_COLLECTION", "CollectionInfo", "FileStatus", "Library", "LibraryBusy", "LibraryError", "SkippedFile"]
