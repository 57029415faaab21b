"""Everything in Hearth that is not a widget: importable and tested without Qt."""
