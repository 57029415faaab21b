"""The document library: chat with your files, and recall of past conversations.

See :class:`desktop.core.library.library.Library`.
"""

from desktop.core.library.formats import SUPPORTED_EXTENSIONS
from desktop.core.library.library import (
    DEFAULT_COLLECTION,
    CollectionInfo,
    FileStatus,
    Library,
    LibraryBusy,
    LibraryError,
    SkippedFile,
)
from desktop.core.library.store import (
    StoreUnreachable,
    check_chroma_server,
    chroma_address,
    parse_chroma_address,
)

__all__ = ["DEFAULT_COLLECTION", "SUPPORTED_EXTENSIONS", "CollectionInfo", "FileStatus", "Library", "LibraryBusy", "LibraryError", "SkippedFile",
           "StoreUnreachable", "check_chroma_server", "chroma_address", "parse_chroma_address"]
