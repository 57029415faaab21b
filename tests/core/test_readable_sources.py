"""Passages are quoted under an answer as a reader sees them, not as markup."""

from desktop.core.library.formats import DOCUMENT_EXTENSIONS, MARKDOWN_EXTENSIONS, OFFICE_EXTENSIONS
from desktop.core.sources import HEADED_SUFFIXES, MARKDOWN_SUFFIXES, Source, readable


def test_markdown_notes_lose_their_markup_and_keep_their_lines() -> None:
    note = "# Dentist\n\nDr. Anna **Nowak**, [Smile Clinic](https://example.org)\nNext: _14 March_\n\n- bring `card`"
    assert readable(note, "dentist.md") == "Dentist\nDr. Anna Nowak, Smile Clinic\nNext: 14 March\nbring card"
    assert Source("document", "dentist.md", note).snippet() == (
        "Dentist Dr. Anna Nowak, Smile Clinic Next: 14 March bring card")


def test_extracted_headings_lose_their_marks_and_other_text_is_kept() -> None:
    assert readable("# Report\n\nGrowth was *3%*.", "report.docx") == "Report\n\nGrowth was *3%*."
    assert readable("# a comment\nx = 1", "script.py") == "# a comment\nx = 1"
    assert readable("# heading typed in a text file", "notes.txt") == "# heading typed in a text file"


def test_the_suffix_lists_follow_the_extractors() -> None:
    assert MARKDOWN_SUFFIXES == MARKDOWN_EXTENSIONS
    assert HEADED_SUFFIXES <= DOCUMENT_EXTENSIONS | OFFICE_EXTENSIONS
    assert DOCUMENT_EXTENSIONS - HEADED_SUFFIXES == {".pdf"}  # pdf text has no heading marks
