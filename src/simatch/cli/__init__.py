"""The ``simatch`` command."""
