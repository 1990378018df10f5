"""The registry's HTML forms, one module per page group."""
