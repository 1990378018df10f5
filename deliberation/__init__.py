"""The deliberation hall (议事厅): threads, polls, proposals, hearings. Built in its own issue."""
