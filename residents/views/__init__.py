"""The registry's HTML pages, one module per page group (urls.py names them all)."""
